import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../server/log.js'
import { testOutputDir } from './secrets.js'

export interface CapturedLog {
  log: Logger
  lines: string[]
  /** Parsed entries, newest last. */
  entries(): Record<string, unknown>[]
}

/**
 * A real logger whose output is kept for assertions and also appended to test-output/logs/, so a
 * suite-wide scan can prove that no phone number, code or token was ever written.
 */
export function captureLog(name: string, level = 'debug'): CapturedLog {
  const lines: string[] = []
  const dir = join(testOutputDir(), 'logs')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name.replace(/[^\w.-]+/g, '_')}.ndjson`)
  const destination = new Writable({
    write(chunk, _enc, cb) {
      const text = chunk.toString()
      lines.push(...text.split('\n').filter(Boolean))
      appendFileSync(file, text)
      cb()
    },
  })
  const log = createLogger({ level, destination })
  return { log, lines, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

/**
 * Where a console-mode server's "[console text]" lines go in tests: kept for assertions and in
 * test-output/console-texts/. They stand for a phone's screen (codes included, as the person must see
 * them), so they are not among the logs test/support/log-scan.ts scans.
 */
export function consoleTextsSink(name: string, lines: string[]): (line: string) => void {
  const dir = join(testOutputDir(), 'console-texts')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name.replace(/[^\w.-]+/g, '_')}.txt`)
  return (line) => {
    lines.push(line.trimEnd())
    appendFileSync(file, line)
  }
}
