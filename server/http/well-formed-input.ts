import type { RequestHandler } from 'express'
import { ApiError } from './errors.js'

/**
 * What PostgreSQL cannot store: a NUL (text and jsonb both refuse U+0000) and a lone UTF-16
 * surrogate (invalid in UTF-8; jsonb refuses a "\ud800" escape). JSON and form bodies can carry
 * both as escapes, and a tool's binary output routinely holds NULs; each becomes U+FFFD, the
 * Unicode replacement character, so the alert is still stored and texted instead of failing with 500.
 */
// eslint-disable-next-line no-control-regex -- matching U+0000 is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

export const REPLACEMENT_CHARACTER = '\uFFFD'

export function storableText(text: string): string {
  return text.replace(UNSTORABLE, REPLACEMENT_CHARACTER)
}

/**
 * No request body of ours is nested anywhere near this deep (event details allow 20 levels: see
 * contract/api.ts); deeper bodies are refused before anything walks them.
 */
export const MAX_BODY_DEPTH = 32

export class TooDeep extends Error {}

/** A copy of a parsed body with every string (object keys included) made storable. */
export function storableValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return storableText(value)
  if (value === null || typeof value !== 'object') return value
  if (depth >= MAX_BODY_DEPTH) throw new TooDeep()
  if (Array.isArray(value)) return value.map((v) => storableValue(v, depth + 1))
  // fromEntries defines own properties: a "__proto__" key stays a key and never becomes the prototype.
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [storableText(k), storableValue(v, depth + 1)]))
}

/**
 * Runs after the body parsers, for every route but the signed Twilio webhooks (their signature is
 * over the raw values; they are made storable once it is checked). The query string too: it reaches
 * the pairing tables through /login.
 */
export function wellFormedInput(opts: { skip: (path: string) => boolean }): RequestHandler {
  return (req, _res, next) => {
    if (opts.skip(req.path)) return next()
    try {
      if (req.body !== undefined) req.body = storableValue(req.body)
    } catch (e) {
      if (!(e instanceof TooDeep)) throw e
      throw new ApiError(400, 'invalid_request', `Invalid request body: nested deeper than ${MAX_BODY_DEPTH} levels`)
    }
    // Express 5 defines req.query as a getter over the parsed query string: replace it with a storable copy.
    const query = storableValue(req.query) as typeof req.query
    Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true, enumerable: true })
    next()
  }
}
