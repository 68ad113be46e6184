import { randomBytes } from 'node:crypto'
import type { RequestHandler } from 'express'
import type { Logger } from '../log.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      requestId: string
      log: Logger
    }
  }
}

// Every monitored session beats every 30 s: a successful heartbeat is logged at debug, not info, so
// that the log (and its cost per request) is about what happened rather than that nothing did.
const HEARTBEAT_PATH = /^\/sessions\/[^/]+\/heartbeat$/

/** Gives each request an id (echoed in X-Request-Id and every error body) and a child logger. */
export function requestContext(log: Logger): RequestHandler {
  return (req, res, next) => {
    req.requestId = `req_${randomBytes(9).toString('base64url')}`
    req.log = log.child({ request_id: req.requestId })
    res.setHeader('X-Request-Id', req.requestId)
    const started = process.hrtime.bigint()
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const quiet = res.statusCode < 400 && HEARTBEAT_PATH.test(req.path)
      req.log[quiet ? 'debug' : 'info']({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request')
    })
    next()
  }
}
