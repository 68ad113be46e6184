import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express'
import { z } from 'zod'
import type { Logger } from '../log.js'

/** The error codes of DESIGN §5 plus our own. Clients switch on these: never rename one. */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'token_expired'
  | 'invalid_pairing_code'
  | 'rate_limited'
  | 'session_not_found'
  | 'server_error'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'conflict'
  | 'forbidden'
  | 'service_unavailable'
  | (string & {})

/** An expected failure with its HTTP status; thrown anywhere, answered by the one error handler. */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export interface ErrorBody {
  error: ErrorCode
  message: string
  details: Record<string, unknown>
  request_id: string
}

export function errorBody(req: Request, code: ErrorCode, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: code, message, details, request_id: req.requestId }
}

export function sendError(req: Request, res: Response, status: number, code: ErrorCode, message: string, details: Record<string, unknown> = {}): void {
  res.status(status).json(errorBody(req, code, message, details))
}

/** Parses with a zod schema; a mismatch becomes 400 invalid_request naming each field. */
export function parseOr400<T extends z.ZodType>(schema: T, value: unknown, what = 'request body'): z.infer<T> {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  throw invalidRequest(result.error, what)
}

export function invalidRequest(error: z.ZodError, what = 'request body'): ApiError {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
  const first = issues[0]
  const message = first ? `Invalid ${what}: ${first.path ? `${first.path}: ` : ''}${first.message}` : `Invalid ${what}`
  return new ApiError(400, 'invalid_request', message, { issues })
}

export const notFound: RequestHandler = (req, res) => {
  sendError(req, res, 404, 'not_found', `No route for ${req.method} ${req.path}`)
}

/** Use as the last handler of app.route(path): any method not registered before it gets 405. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ')
  return (req, res) => {
    res.setHeader('Allow', allow)
    sendError(req, res, 405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}; use ${allow}`)
  }
}

/** The one error handler: every failure ends here as the JSON body of DESIGN §5, never a stack trace. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      req.log?.error({ err }, 'error after the response had started')
      res.destroy()
      return
    }
    if (err instanceof ApiError) {
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v)
      sendError(req, res, err.status, err.code, err.message, err.details)
      return
    }
    if (err instanceof z.ZodError) {
      const e = invalidRequest(err)
      sendError(req, res, e.status, e.code, e.message, e.details)
      return
    }
    // body-parser errors carry a `type` and a 4xx status
    const bodyError = err as { type?: string; status?: number; expose?: boolean }
    switch (bodyError.type) {
      case 'entity.parse.failed':
        return sendError(req, res, 400, 'invalid_request', 'The request body is not valid JSON')
      case 'entity.too.large':
        return sendError(req, res, 413, 'payload_too_large', 'The request body is larger than 64 KB')
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return sendError(req, res, 415, 'unsupported_media_type', 'The request body uses an unsupported encoding or charset')
      case 'request.aborted':
        return sendError(req, res, 400, 'invalid_request', 'The request was aborted')
      case 'parameters.too.many':
        return sendError(req, res, 413, 'payload_too_large', 'The request has too many form fields')
    }
    if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500 && bodyError.expose) {
      return sendError(req, res, bodyError.status, 'invalid_request', 'The request could not be read')
    }
    if (isDatabaseUnavailable(err)) {
      ;(req.log ?? log).warn({ err }, 'database unavailable')
      res.setHeader('Retry-After', '5')
      return sendError(req, res, 503, 'service_unavailable', 'The database is not answering; try again in a few seconds')
    }
    ;(req.log ?? log).error({ err }, 'unhandled error')
    sendError(req, res, 500, 'server_error', 'Something went wrong on the server; it has been logged')
  }
}

const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '08006', '08001', '08004'])

export function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)
}
