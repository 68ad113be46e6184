import { randomFillSync } from 'node:crypto'
import type { RequestHandler } from 'express'
import type { Logger } from '../log.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string
      log: Logger
    }
    interface Locals {
      /** Fields a handler adds to the request's one log line (what became of an event, say), instead of a line of its own. */
      logFields?: Record<string, unknown>
    }
  }
}

// Every monitored session beats every 30 s: a successful heartbeat is logged at debug, not info, so
// that the log (and its cost per request) is about what happened rather than that nothing did.
const HEARTBEAT_PATH = /^\/sessions\/[^/]+\/heartbeat$/

// Request ids are 9 random bytes each, taken from a pool refilled 455 ids at a time: one call into
// the system's random source per 455 requests instead of one per request.
const ID_BYTES = 9
const pool = Buffer.alloc(ID_BYTES * 455)
let poolOffset = pool.length

export function newRequestId(): string {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const id = `req_${pool.toString('base64url', poolOffset, poolOffset + ID_BYTES)}`
  poolOffset += ID_BYTES
  return id
}

/**
 * Gives each request an id (echoed in X-Request-Id and every error body) and a child logger, made
 * when first used: most requests log one line, when they finish, and need none.
 */
export function requestContext(log: Logger): RequestHandler {
  return (req, res, next) => {
    const requestId = newRequestId()
    req.requestId = requestId
    let child: Logger | undefined
    Object.defineProperty(req, 'log', { get: () => (child ??= log.child({ request_id: requestId })), configurable: true, enumerable: true })
    res.setHeader('X-Request-Id', requestId)
    const started = process.hrtime.bigint()
    res.on('finish', () => {
      const level = res.statusCode < 400 && HEARTBEAT_PATH.test(req.path) ? 'debug' : 'info'
      if (!log.isLevelEnabled(level)) return
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10
      const line = { method: req.method, path: req.path, status: res.statusCode, ms, ...res.locals.logFields }
      if (child) child[level](line, 'request')
      else log[level]({ request_id: requestId, ...line }, 'request')
    })
    next()
  }
}
