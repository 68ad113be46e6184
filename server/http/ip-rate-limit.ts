import type { Request, RequestHandler } from 'express'
import type { Clock } from '../clock.js'
import { ApiError } from './errors.js'

export interface IpRateLimitOptions {
  /** Requests per window per client address (DESIGN §5: 100 per minute). */
  limit: number
  windowMs: number
  clock: Clock
  /** Requests that are never counted (health checks, Twilio webhooks). */
  exempt?: (req: Request) => boolean
}

export const DEFAULT_IP_RATE_LIMIT = { limit: 100, windowMs: 60_000 }

/**
 * At most `limit` requests per client address per fixed window, counted in this process's memory
 * (each server instance counts on its own; the limits that must hold across instances, such as pairing
 * texts, are counted in the database). Over the limit: 429 rate_limited with Retry-After.
 */
export function ipRateLimit(opts: IpRateLimitOptions): RequestHandler {
  const windows = new Map<string, { startedAt: number; count: number }>()
  let lastSweep = 0

  return (req, _res, next) => {
    if (opts.exempt?.(req)) return next()
    const now = opts.clock.now().getTime()
    // Forget addresses whose window is over, at most once per window, so memory follows live traffic.
    if (now - lastSweep >= opts.windowMs) {
      for (const [ip, w] of windows) if (now - w.startedAt >= opts.windowMs) windows.delete(ip)
      lastSweep = now
    }
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown'
    let window = windows.get(ip)
    if (!window || now - window.startedAt >= opts.windowMs || now < window.startedAt) {
      window = { startedAt: now, count: 0 }
      windows.set(ip, window)
    }
    window.count++
    if (window.count <= opts.limit) return next()
    const retryAfter = Math.max(1, Math.ceil((window.startedAt + opts.windowMs - now) / 1000))
    next(
      new ApiError(429, 'rate_limited', `Too many requests from your address (more than ${opts.limit} in ${Math.round(opts.windowMs / 1000)} s). Try again in ${retryAfter} s.`, { retry_after: retryAfter }, {
        'Retry-After': String(retryAfter),
      }),
    )
  }
}
