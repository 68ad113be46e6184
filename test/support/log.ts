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
