import { pino, type Logger, type DestinationStream } from 'pino'
import { scrub } from './log-masking.js'

export { scrub, scrubText } from './log-masking.js'

export type { Logger }

/**
 * The server's logger. Masking happens here, in the logger, so no call site can forget it:
 * every argument (message and merged objects) passes through scrub() before pino sees it.
 * Twilio error codes (numbers under the key "code") are kept; string codes are redacted.
 */
export function createLogger(opts: { level?: string; destination?: DestinationStream; base?: Record<string, unknown> } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.base ?? { service: 'claude-sms-notifier' },
      timestamp: pino.stdTimeFunctions.isoTime,
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a)) as Parameters<typeof method>)
        },
      },
      formatters: {
        bindings: (b) => scrub(b) as Record<string, unknown>,
      },
    },
    opts.destination,
  )
}
