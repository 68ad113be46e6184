import express, { type Express, type Router } from 'express'
import type { Sql } from 'postgres'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import { errorHandler, notFound } from './http/errors.js'
import { requestContext } from './http/request-context.js'
import { createAccessTokens } from './auth/access-tokens.js'
import type { Logger } from './log.js'
import { healthRouter } from './routes/health.js'
import { sessionsRouter } from './routes/sessions.js'
import { twilioRouter } from './routes/twilio.js'
import { createNotifier, type Notifier } from './sms/notifier.js'
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
}

/** The whole HTTP surface; every dependency is passed in, so tests build as many apps as they like. */
export function createApp(deps: AppDeps): Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', 'loopback')
  app.set('query parser', 'simple')
  app.use(requestContext(deps.log))
  app.use(express.json({ limit: '64kb', strict: false }))
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }))

  const notifier = deps.notifier ?? createNotifier({ sql: deps.sql, sms: deps.sms, clock: deps.clock, log: deps.log, charset: deps.config.smsCharset })
  const accessTokens = createAccessTokens({ sql: deps.sql, secret: deps.config.jwtSecret, clock: deps.clock })

  app.use(healthRouter(deps))
  app.use(sessionsRouter({ sql: deps.sql, clock: deps.clock, accessTokens, notifier }))
  app.use(twilioRouter({ config: deps.config, sql: deps.sql, clock: deps.clock, log: deps.log, charset: deps.config.smsCharset }))
  for (const router of deps.extraRoutes ?? []) app.use(router)

  app.use(notFound)
  app.use(errorHandler(deps.log))
  return app
}
