import { maskPhone } from './phone.js'

// What every log line goes through, in the server (pino, server/log.ts) and in the plugin's MCP server
// (mcp/log.ts): kept free of the logger itself so the MCP bundle can mask without carrying pino.

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
