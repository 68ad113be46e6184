import express, { type Express, type Router } from 'express'
import type { Sql } from 'postgres'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import { errorHandler, notFound } from './http/errors.js'
import { DEFAULT_IP_RATE_LIMIT, ipRateLimit } from './http/ip-rate-limit.js'
import { requestContext } from './http/request-context.js'
import { createAccessTokens } from './auth/access-tokens.js'
import type { Logger } from './log.js'
import { DEFAULT_PAIRING_SEND_LIMITS, type PairingSendLimits } from './pairing/send-limits.js'
import { authRouter } from './routes/auth.js'
import { dashboardRouter } from './dashboard/router.js'
import { healthRouter } from './routes/health.js'
import { loginRouter } from './routes/login.js'
import { sessionsRouter } from './routes/sessions.js'
import { twilioRouter } from './routes/twilio.js'
import { createNotifier, type Notifier } from './sms/notifier.js'
import { createPostgresSessionUpdates, type SessionUpdates } from './session-updates.js'
import type { SmsSender } from './sms/sender.js'

export interface AppDeps {
  config: Config
  sql: Sql
  sms: SmsSender
  clock: Clock
  log: Logger
  /** Turns session events into texts; built from the other deps when absent (startServer shares one with the sweeper). */
  notifier?: Notifier
  /** Extra routers mounted before the 404 handler (tests use this to exercise the error handler). */
  extraRoutes?: Router[]
  /**
   * Requests per minute per client address on every endpoint but /healthz and /twilio/* (DESIGN §5:
   * 100). Tests and benchmarks that send more from one address raise it.
   */
  ipRateLimit?: { limit: number; windowMs?: number }
  /** Pairing text limits; the daily cap defaults to config.pairingDailyCap. */
  pairingLimits?: Partial<PairingSendLimits>
  /**
   * Where session changes are published for the dashboard's live pages; by default PostgreSQL
   * LISTEN/NOTIFY on `sql`, so every server process's pages update (startServer shares one with the sweeper).
   */
  updates?: SessionUpdates
}

const EVENTS_PATH = /^\/sessions\/[^/]+\/events$/

/** The whole HTTP surface; every dependency is passed in, so tests build as many apps as they like. */
export function createApp(deps: AppDeps): Express {
  const { config, sql, sms, clock, log } = deps
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')
  app.set('query parser', 'simple')
  app.use(requestContext(log))
  app.use(
    ipRateLimit({
      limit: deps.ipRateLimit?.limit ?? config.ipRateLimitPerMinute,
      windowMs: deps.ipRateLimit?.windowMs ?? DEFAULT_IP_RATE_LIMIT.windowMs,
      clock,
      // Health checks come from load balancers; Twilio's webhooks are signed and come in bursts.
      // Events have their own limit (1 text per 30 min per user and type) and their own 429 answer
      // ({sms_sent, rate_limited, next_allowed_at, retry_after}), which a per-address 429 would break.
      exempt: (req) => req.path === '/healthz' || req.path.startsWith('/twilio/') || EVENTS_PATH.test(req.path),
    }),
  )
  app.use(express.json({ limit: '64kb', strict: false }))
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }))

  const tokens = createAccessTokens({ sql, secret: config.jwtSecret, clock })
  const pairing = {
    sql,
    sms,
    clock,
    log,
    pepper: config.pepper,
    allowedCountryCodes: config.allowedCountryCodes,
    limits: { ...DEFAULT_PAIRING_SEND_LIMITS, globalPerDay: config.pairingDailyCap, ...deps.pairingLimits },
  }

  const updates = deps.updates ?? createPostgresSessionUpdates(sql, log)
  const notifier = deps.notifier ?? createNotifier({ sql, sms, clock, log, charset: config.smsCharset, rateLimitWindowMs: config.smsRateLimitMinutes * 60_000, updates })
  // First: heartbeats and events are nearly every request a server gets.
  app.use(sessionsRouter({ sql, clock, accessTokens: tokens, notifier, updates }))
  app.use(healthRouter(deps))
  app.use(loginRouter({ pairing }))
  app.use(authRouter({ sql, clock, tokens, exchange: { sql, clock, log, pepper: config.pepper, tokens } }))
  app.use(twilioRouter({ config, sql, clock, log, charset: config.smsCharset, updates }))
  app.use(
    '/dashboard',
    dashboardRouter({ sql, clock, log, pepper: config.pepper, publicUrl: config.publicUrl, pairing, updates, transportName: sms.transportName, pricePerSegment: config.smsPricePerSegment }),
  )
  for (const router of deps.extraRoutes ?? []) app.use(router)

  app.use(notFound)
  app.use(errorHandler(log))
  return app
}
