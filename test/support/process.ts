import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CONSOLE_TEXT_PREFIX } from '../../server/sms/console.js'
import { testOutputDir } from './secrets.js'

export interface SpawnedServer {
  proc: ChildProcess
  /** Every stdout/stderr line so far. */
  lines: string[]
  /** Resolves with the first line (past or future) matching the pattern; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Runs the built server (`node build/server/main.js`, what `npm start` runs) as a child process. */
export function spawnServer(env: Record<string, string | undefined>, opts: { cwd?: string } = {}): SpawnedServer {
  const proc = spawn(process.execPath, ['build/server/main.js'], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  // Kept for the suite-wide scan for secrets in log output (test/support/log-scan.ts).
  const logDir = join(testOutputDir(), 'logs')
  mkdirSync(logDir, { recursive: true })
  const logFile = join(logDir, `server-process-${process.pid}-${proc.pid}.ndjson`)
  // Console-mode texts (codes included) stand for a phone's screen, not a log: kept apart from the scan.
  const textsDir = join(testOutputDir(), 'console-texts')
  const textsFile = join(textsDir, `server-process-${process.pid}-${proc.pid}.txt`)
  const waiters = new Set<{ pattern: RegExp; resolve: (l: string) => void }>()
  const onLine = (line: string) => {
    lines.push(line)
    if (line.startsWith(CONSOLE_TEXT_PREFIX)) {
      mkdirSync(textsDir, { recursive: true })
      appendFileSync(textsFile, `${line}\n`)
    } else appendFileSync(logFile, `${line}\n`)
    for (const w of waiters) {
      if (!w.pattern.test(line)) continue
      waiters.delete(w)
      w.resolve(line)
    }
  }
  createInterface({ input: proc.stdout! }).on('line', onLine)
  createInterface({ input: proc.stderr! }).on('line', onLine)
  const exited = once(proc, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }))
  return {
    proc,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l))
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const waiter = { pattern, resolve: (l: string) => (clearTimeout(timer), resolve(l)) }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join('\n')}`))
        }, timeoutMs)
        waiters.add(waiter)
        void exited.then(({ code, signal }) => {
          if (!waiters.has(waiter)) return
          waiters.delete(waiter)
          clearTimeout(timer)
          reject(new Error(`server exited (${code ?? signal}) before a line matching ${pattern}; output:\n${lines.join('\n')}`))
        })
      })
    },
  }
}

/** The URL from the server's "listening" log line. */
export async function listeningUrl(server: SpawnedServer): Promise<string> {
  const line = await server.waitForLine(/server listening on/)
  return (JSON.parse(line) as { url: string }).url
}
