import { maskPhone } from './phone.js'
import { redactTokenShapes } from './sms/redact.js'

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
  return redactTokenShapes(text)
    .replace(PHONE_IN_TEXT, (m) => maskPhone(m))
    .replace(JWT_IN_TEXT, '[redacted-jwt]')
    .replace(BEARER_IN_TEXT, '$1 [redacted]')
    .replace(QUERY_SECRET, '$1[redacted]')
}

// PostgreSQL's error fields that quote the data of the failed statement: `detail` ("Key (event_id)=(…)
// already exists"), `where` ("JSON data, line 1: {…"), `hint`, and the query text and parameters
// postgres.js attaches. A database error is logged by its code and names, never with these.
const DATABASE_ERROR_FIELDS = ['code', 'severity', 'routine', 'schema_name', 'table_name', 'column_name', 'data_type_name', 'constraint_name', 'errno', 'syscall'] as const

function isDatabaseError(e: Error): boolean {
  return e.name === 'PostgresError' || ('routine' in e && 'severity' in e)
}

/** "invalid input syntax for type uuid: "…"": the part after the colon quotes the value. */
function databaseErrorMessage(message: string): string {
  const colon = message.indexOf(': ')
  return colon === -1 ? message : `${message.slice(0, colon)}: […]`
}

function describeDatabaseError(e: Error): Record<string, unknown> {
  const message = databaseErrorMessage(e.message)
  const out: Record<string, unknown> = { type: e.name, name: e.name, message }
  const frames = e.stack?.split('\n').slice(1).filter((l) => /^\s+at /.test(l))
  if (frames?.length) out.stack = scrubText([`${e.name}: ${message}`, ...frames].join('\n'))
  for (const k of DATABASE_ERROR_FIELDS) {
    const v = (e as unknown as Record<string, unknown>)[k]
    if (typeof v === 'string' || typeof v === 'number') out[k] = v
  }
  return out
}

/** Deep copy of a log argument with phone numbers masked and secrets redacted. */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value)
  if (value === null || typeof value !== 'object') return value
  if (depth > 8 || seen.has(value)) return '[…]'
  seen.add(value)
  if (value instanceof Error) {
    if (isDatabaseError(value)) return describeDatabaseError(value)
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
