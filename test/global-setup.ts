import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'
import { startEmbeddedPostgres, stopStalePostmaster } from '../server/db/embedded.js'
import { describeFindings, scanTestLogs } from './support/log-scan.js'
import { testOutputDir } from './support/secrets.js'

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Removes what runs killed with -9 left behind (a postmaster and its temp directory). */
async function sweepStaleRuns(parent: string) {
  for (const name of readdirSync(parent)) {
    const dir = join(parent, name)
    const ownerFile = join(dir, 'owner.pid')
    const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : NaN
    if (Number.isInteger(owner) && isAlive(owner)) continue // another `npm test` running now
    await stopStalePostmaster(join(dir, 'data'))
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * A real PostgreSQL for the whole run: DATABASE_URL when set, otherwise one embedded PostgreSQL.
 * Each test file then works in a database of its own (test/support/db.ts).
 */
export default async function setup(project: TestProject) {
  const output = testOutputDir()
  if (!process.env.CLAUDE_SMS_KEEP_TEST_LOGS) {
    rmSync(join(output, 'logs'), { recursive: true, force: true })
    rmSync(join(output, 'secrets'), { recursive: true, force: true })
  }
  if (process.env.DATABASE_URL) {
    project.provide('databaseUrl', process.env.DATABASE_URL)
    return () => failOnLeakedSecrets(output)
  }
  const parent = join(tmpdir(), 'claude-sms-test-pg')
  mkdirSync(parent, { recursive: true })
  chmodSync(parent, 0o711)
  await sweepStaleRuns(parent)
  const base = mkdtempSync(join(parent, 'run-'))
  chmodSync(base, 0o711)
  writeFileSync(join(base, 'owner.pid'), String(process.pid))
  const db = await startEmbeddedPostgres({ dataDir: join(base, 'data'), persistent: false })
  // On SIGINT/SIGTERM vitest exits without teardown: do not leave the postmaster behind.
  process.on('exit', db.killSync)
  project.provide('databaseUrl', db.url)
  return async () => {
    process.off('exit', db.killSync)
    await db.stop()
    rmSync(base, { recursive: true, force: true })
    failOnLeakedSecrets(output)
  }
}

/**
 * After every test file: no log line of the whole run (servers in and out of process, MCP servers)
 * may hold a full phone number, a pairing code or a token. Throwing here fails `npm test`.
 */
function failOnLeakedSecrets(output: string) {
  const findings = scanTestLogs(output)
  if (!findings.length) return
  // vitest prints an error thrown by a global teardown but keeps the exit code it had: set it.
  process.exitCode = 1
  throw new Error(describeFindings(findings))
}
