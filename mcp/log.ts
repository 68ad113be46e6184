import { writeSync } from 'node:fs'
import { scrub } from '../server/log-masking.js'

/** pino's level numbers, so the lines read the same as the server's. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const
export type LevelName = keyof typeof LEVELS

export interface LogMethod {
  (message: string): void
  (fields: Record<string, unknown>, message?: string): void
}

export type Logger = Record<LevelName, LogMethod>

/**
 * The MCP server's logger: one JSON line per entry on stderr (stdout is the MCP channel), in pino's
 * shape ({"level":30,"time":...,"msg":...}) and with the server's masking (server/log-masking.ts).
 * Not pino itself: the plugin's MCP server runs in every Claude Code session, and pino with its
 * worker-thread transports and libphonenumber's metadata cost it ~10 MB and ~50 ms at start for a
 * dozen lines a session. Writes are synchronous so the last lines before a SIGINT exit are kept.
 */
export function createMcpLogger(level: LevelName | 'silent' | (string & {}), write: (line: string) => void = writeToStderr): Logger {
  const threshold = level === 'silent' ? Infinity : (LEVELS[level as LevelName] ?? LEVELS.info)
  const base = { service: 'claude-sms-notifier-mcp', pid: process.pid }
  const method = (name: LevelName): LogMethod => {
    const value = LEVELS[name]
    return (first: string | Record<string, unknown>, message?: string) => {
      if (value < threshold) return
      const fields = typeof first === 'string' ? {} : (scrub(first) as Record<string, unknown>)
      const msg = typeof first === 'string' ? first : message
      const entry = { level: value, time: new Date().toISOString(), ...base, ...fields, ...(msg === undefined ? {} : { msg: scrub(msg) }) }
      write(`${JSON.stringify(entry)}\n`)
    }
  }
  return { trace: method('trace'), debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error'), fatal: method('fatal') }
}

function writeToStderr(line: string): void {
  try {
    writeSync(2, line)
  } catch {
    // A closed or full stderr (Claude Code gone, nobody reading) must never stop monitoring: the line is lost.
  }
}
