import type { Request, RequestHandler } from 'express'
import type { Clock } from '../clock.js'
import { addressKey } from './client-address.js'
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

export interface IpRateLimiter {
  /** Counts every request except the exempt and the deferred ones; over the limit: 429 rate_limited. */
  middleware: RequestHandler
  /**
   * Counts one request after the fact (a deferred one that turned out to deserve counting, e.g. a
   * session request whose token was not valid): the 429 to answer instead when over the limit.
   */
  charge(req: Request): ApiError | undefined
}

/**
 * At most `limit` requests per client address per fixed window, counted in this process's memory
 * (each server instance counts on its own; the limits that must hold across instances, such as pairing
 * texts, are counted in the database). Addresses are keyed by addressKey (an IPv6 client by its /64).
 * Over the limit: 429 rate_limited with Retry-After.
 */
export function ipRateLimiter(opts: IpRateLimitOptions & { deferred?: (req: Request) => boolean }): IpRateLimiter {
  const windows = new Map<string, { startedAt: number; count: number }>()
  let lastSweep = 0

  const charge = (req: Request): ApiError | undefined => {
    const now = opts.clock.now().getTime()
    // Forget addresses whose window is over, at most once per window, so memory follows live traffic.
    if (now - lastSweep >= opts.windowMs) {
      for (const [ip, w] of windows) if (now - w.startedAt >= opts.windowMs) windows.delete(ip)
      lastSweep = now
    }
    const key = addressKey(req.ip ?? req.socket.remoteAddress)
    let window = windows.get(key)
    if (!window || now - window.startedAt >= opts.windowMs || now < window.startedAt) {
      window = { startedAt: now, count: 0 }
      windows.set(key, window)
    }
    window.count++
    if (window.count <= opts.limit) return undefined
    const retryAfter = Math.max(1, Math.ceil((window.startedAt + opts.windowMs - now) / 1000))
    return new ApiError(429, 'rate_limited', `Too many requests from your address (more than ${opts.limit} in ${Math.round(opts.windowMs / 1000)} s). Try again in ${retryAfter} s.`, { retry_after: retryAfter }, {
      'Retry-After': String(retryAfter),
    })
  }

  return {
    middleware: (req, _res, next) => {
      if (opts.exempt?.(req) || opts.deferred?.(req)) return next()
      next(charge(req))
    },
    charge,
  }
}

