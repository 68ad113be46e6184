import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { startEmbeddedPostgres } from '../../server/db/embedded.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET } from '../support/server.js'

// Another user of the same computer can reach 127.0.0.1, so the embedded PostgreSQL (the default
// without DATABASE_URL) must not open with a password anyone knows.

const dirs: string[] = []
const started: SpawnedServer[] = []
afterAll(async () => {
  for (const s of started) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM')
  await Promise.all(started.map((s) => s.exited))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

async function startOn(dataDir: string) {
  const s = spawnServer({ PORT: '0', DATA_DIR: dataDir, DATABASE_URL: undefined, JWT_SECRET: TEST_JWT_SECRET })
  started.push(s)
  await listeningUrl(s)
  const { port } = JSON.parse(await s.waitForLine(/embedded PostgreSQL is running/)) as { port: number }
  return { server: s, port }
}

/** Tries to log in to the embedded PostgreSQL as another local user would. */
async function login(port: number, password: string): Promise<'in' | string> {
  const sql = createSql(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`, { max: 1 })
  try {
    await sql`select 1`
    return 'in'
  } catch (e) {
    return (e as { code?: string }).code ?? String(e)
  } finally {
    await sql.end({ timeout: 1 })
  }
}

const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'claude-sms-pgpass-'))
  dirs.push(d)
  return d
}

describe('the embedded PostgreSQL', () => {
  it('has a random password of its own, kept 0600 in the data directory; "postgres" does not open it', async () => {
    const dataDir = tempDir()
    const { port } = await startOn(dataDir)
    const file = join(dataDir, 'pg-password')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    const password = readFileSync(file, 'utf8').trim()
    expect(password.length).toBeGreaterThanOrEqual(32)
    expect(await login(port, 'postgres')).toBe('28P01') // invalid_password
    expect(await login(port, 'password')).toBe('28P01')
    expect(await login(port, password)).toBe('in')
  })

  it('a data directory made with the old fixed password gets a random one at the next start', async () => {
    const dataDir = tempDir()
    const old = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), persistent: true, password: 'postgres' })
    await old.stop()
    const { server, port } = await startOn(dataDir)
    expect(server.lines.join('\n')).toMatch(/replaced it with a random one/)
    expect(await login(port, 'postgres')).toBe('28P01')
    expect(await login(port, readFileSync(join(dataDir, 'pg-password'), 'utf8').trim())).toBe('in')
  })
})
