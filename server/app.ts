import express, { type ErrorRequestHandler, type Express, type Router } from 'express'
import type { Sql } from 'postgres'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import { ApiError, errorHandler, notFound } from './http/errors.js'
import { DEFAULT_IP_RATE_LIMIT, ipRateLimiter } from './http/ip-rate-limit.js'
import { requestContext } from './http/request-context.js'
import { wellFormedInput } from './http/well-formed-input.js'
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
import { createPhoneReplies } from './approvals/phone-replies.js'
import { approvalsRouter } from './approvals/routes.js'
import { createApprovals } from './approvals/service.js'
import { createPostgresSessionUpdates, type SessionUpdates } from './session-updates.js'
import type { SmsSender } from './sms/sender.js'
import { createCallAnswers } from './voice/keypress.js'
import { voiceRouter } from './voice/routes.js'

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
  /** Pairing text limits; the daily caps default to config.pairingDailyCap and config.pairedSigninDailyCap. */
  pairingLimits?: Partial<PairingSendLimits>
  /**
   * Where session changes are published for the dashboard's live pages; by default PostgreSQL
   * LISTEN/NOTIFY on `sql`, so every server process's pages update (startServer shares one with the sweeper).
   */
  updates?: SessionUpdates
}

// A monitored session's own traffic, authenticated by its session token.
const SESSION_TRAFFIC_PATH = /^\/sessions\/[^/]+\/(events|heartbeat)$/

/** The whole HTTP surface; every dependency is passed in, so tests build as many apps as they like. */
export function createApp(deps: AppDeps): Express {
  const { config, sql, sms, clock, log } = deps
  const app = express()
  app.disable('x-powered-by')
  // X-Forwarded-For is believed only from the proxies the operator names (TRUST_PROXY); by default
  // the client address is the TCP peer's, so a client cannot choose the address it is counted under.
  app.set('trust proxy', config.trustProxy)
  app.set('query parser', 'simple')
  app.use(requestContext(log))
  const addressLimit = ipRateLimiter({
    limit: deps.ipRateLimit?.limit ?? config.ipRateLimitPerMinute,
    windowMs: deps.ipRateLimit?.windowMs ?? DEFAULT_IP_RATE_LIMIT.windowMs,
    clock,
    // Health checks come from load balancers; Twilio's webhooks are signed and come in bursts.
    exempt: (req) => req.path === '/healthz' || req.path.startsWith('/twilio/'),
    // Events and heartbeats with a valid session token are not counted: every monitored session of a
    // computer sends them from one address, and events have their own limit and 429 answer
    // ({sms_sent, rate_limited, next_allowed_at, retry_after}). Those whose token is not valid are
    // counted once authentication has failed (below the sessions routes).
    deferred: (req) => SESSION_TRAFFIC_PATH.test(req.path),
  })
  app.use(addressLimit.middleware)
  app.use(express.json({ limit: '64kb', strict: false }))
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }))
  // NULs and lone surrogates become U+FFFD before any route sees them: PostgreSQL stores neither.
  app.use(wellFormedInput({ skip: (path) => path.startsWith('/twilio/') }))

  const tokens = createAccessTokens({ sql, secret: config.jwtSecret, clock, familyMaxDays: config.tokenFamilyMaxDays })
  const pairing = {
    sql,
    sms,
    clock,
    log,
    pepper: config.pepper,
    allowedCountryCodes: config.allowedCountryCodes,
    limits: {
      ...DEFAULT_PAIRING_SEND_LIMITS,
      globalPerDay: config.pairingDailyCap,
      perIpPerHour: config.pairingPerAddressPerHour,
      perNumberPerHour: config.pairingPerNumberPerHour,
      pairedPerDay: config.pairedSigninDailyCap,
      ...deps.pairingLimits,
    },
    wrongCodesPerDay: config.wrongCodesPerDay,
  }

  const updates = deps.updates ?? createPostgresSessionUpdates(sql, log)
  const notifier = deps.notifier ?? createNotifier({ sql, sms, clock, log, charset: config.smsCharset, rateLimitWindowMs: config.smsRateLimitMinutes * 60_000, updates })
  const approvals = createApprovals({ sql, sms, clock, log, charset: config.smsCharset, pepper: config.pepper, dailyCap: config.approvalDailyCap, updates })
  const replyFromPhone = createPhoneReplies({ sql, clock, log, pepper: config.pepper, approvals, updates })
  // First: heartbeats and events are nearly every request a server gets.
  app.use(sessionsRouter({ sql, clock, accessTokens: tokens, notifier, updates, approvals, maxLiveSessionsPerUser: config.maxLiveSessionsPerUser }))
  app.use(((err, req, _res, next) => {
    const unauthenticated = err instanceof ApiError && (err.status === 401 || err.code === 'session_not_found')
    next(unauthenticated && SESSION_TRAFFIC_PATH.test(req.path) ? (addressLimit.charge(req) ?? err) : err)
  }) as ErrorRequestHandler)
  app.use(healthRouter(deps))
  app.use(loginRouter({ pairing, publicUrl: config.publicUrl }))
  app.use(authRouter({ sql, clock, tokens, exchange: { sql, clock, log, pepper: config.pepper, tokens, sms, wrongCodesPerDay: config.wrongCodesPerDay } }))
  app.use(approvalsRouter({ sql, approvals, updates, log }))
  app.use(twilioRouter({ config, sql, clock, log, charset: config.smsCharset, updates, replyFromPhone }))
  const callAnswers = createCallAnswers({ sql, clock, log, approvals, publicUrl: config.publicUrl, updates })
  app.use(voiceRouter({ config, sql, clock, log, answers: callAnswers, updates }))
  app.use(
    '/dashboard',
    dashboardRouter({ sql, clock, log, pepper: config.pepper, publicUrl: config.publicUrl, pairing, updates, transportName: sms.transportName, consoleTexts: sms.consoleTexts, pricePerSegment: config.smsPricePerSegment,
      pricePerCallMinute: config.voicePricePerMinute, callAnswers }),
  )
  for (const router of deps.extraRoutes ?? []) app.use(router)

  app.use(notFound)
  app.use(errorHandler(log))
  return app
}
