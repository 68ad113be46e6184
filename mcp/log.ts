import { pino } from 'pino'
import { createLogger, type Logger } from '../server/log.js'

export type { Logger }

/**
 * The MCP server's logger: stderr only, because stdout is the MCP channel. Synchronous so that the
 * last lines before a SIGINT exit are not lost. Masking of phones and tokens comes from server/log.ts.
 */
export function createMcpLogger(level: string): Logger {
  return createLogger({ level, base: { service: 'claude-sms-notifier-mcp', pid: process.pid }, destination: pino.destination({ dest: 2, sync: true }) })
}
