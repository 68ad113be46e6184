import { pino, type Logger, type DestinationStream } from 'pino'
import { maskPhone } from './phone.js'

export type { Logger }

// E.164-looking numbers anywhere in a string: "+14155552671", also inside URLs and sentences.
const PHONE_IN_TEXT = /\+[1-9]\d{6,14}\b/g
// Keys whose values are secrets whatever they contain.
const SECRET_KEY = /(token|secret|password|passwd|authorization|cookie|pairing_?code|^code$|api_?key|signature|pepper|jwt)/i
// Long opaque strings that look like bearer tokens or JWTs, caught even under innocent keys.
const JWT_IN_TEXT = /\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}\b/g
const BEARER_IN_TEXT = /\b(Bearer)\s+[\w.~+/-]{8,}=*/gi
const QUERY_SECRET = /([?&](?:temp_token|token|access_token|code|pairing_code|state)=)[^&\s#]+/gi

export function scrubText(text: string): string {
  return text
    .replace(PHONE_IN_TEXT, (m) => maskPhone(m))
    .replace(JWT_IN_TEXT, '[redacted-jwt]')
    .replace(BEARER_IN_TEXT, '$1 [redacted]')
    .replace(QUERY_SECRET, '$1[redacted]')
}

/** Deep copy of a log argument with phone numbers masked and secrets redacted. */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value)
  if (value === null || typeof value !== 'object') return value
  if (depth > 8 || seen.has(value)) return '[…]'
  seen.add(value)
  if (value instanceof Error) {
    const out: Record<string, unknown> = { type: value.name, message: scrubText(value.message) }
    if (value.stack) out.stack = scrubText(value.stack)
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && k !== 'code' ? '[redacted]' : scrub(v, depth + 1, seen)
    return out
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen))
  if (value instanceof Date) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k) && !(k === 'code' && typeof v === 'number')) out[k] = v == null ? v : '[redacted]'
    else out[k] = scrub(v, depth + 1, seen)
  }
  return out
}

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
