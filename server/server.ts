import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import type { Server } from 'node:http'
import { createApp } from './app.js'
import { systemClock, type Clock } from './clock.js'
import type { Config } from './config.js'
import { connectDatabase, type Database } from './db/connect.js'
import { migrate } from './db/migrate.js'
import type { Logger } from './log.js'
import { createSweeper } from './monitoring/sweeper.js'
import { createPostgresSessionUpdates } from './session-updates.js'
import { createNotifier } from './sms/notifier.js'
import { createConsoleTransport } from './sms/console.js'
import { createSmsSender } from './sms/sender.js'
import { createTwilioTransport } from './sms/twilio.js'
import type { SmsTransport } from './sms/transport.js'
import { createEscalation } from './voice/escalation.js'
import { createVoiceTransport } from './voice/transport.js'

export interface RunningServer {
  url: string
  port: number
  db: Database
  http: Server
  /** Stops taking requests, finishes those in flight, closes the pool, stops the embedded PostgreSQL. */
  close(): Promise<void>
}

/** `print`: where console mode writes each text as a line (stderr when omitted). */
export function createTransport(config: Config, log: Logger, opts: { print?: (line: string) => void } = {}): SmsTransport {
  return config.twilio ? createTwilioTransport(config.twilio) : createConsoleTransport(log, opts)
}

/** Everything `npm start` does, minus signal handling: database, migrations, transport, HTTP. */
export async function startServer(config: Config, log: Logger, opts: { clock?: Clock; sweepIntervalMs?: number } = {}): Promise<RunningServer> {
  const db = await connectDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embeddedHome: config.embeddedPgHome, log })
  try {
    const applied = await migrate(db.sql)
    if (applied.length) log.info({ migrations: applied }, 'database schema updated')
    const transport = createTransport(config, log)
    if (transport.name === 'console') log.warn('Twilio is not configured: each text is printed on this terminal as a "[console text]" line and listed in the dashboard outbox instead of being sent')
    const sms = createSmsSender({ sql: db.sql, transport, log, pepper: config.pepper, statusCallbackUrl: config.twilio ? `${config.publicUrl}/twilio/status` : undefined })
    const clock = opts.clock ?? systemClock
    // Live dashboard updates through LISTEN/NOTIFY: pages served by any process see every change.
    const updates = createPostgresSessionUpdates(db.sql, log)
    const notifier = createNotifier({ sql: db.sql, sms, clock, log, charset: config.smsCharset, rateLimitWindowMs: config.smsRateLimitMinutes * 60_000, updates })
    const app = createApp({ config, sql: db.sql, sms, clock, log, notifier, updates })
    // Stale sessions and ended pauses; safe to run in every server process on one database.
    const sweeper = createSweeper({ sql: db.sql, clock, log, notifier, updates })
    // Calls about requests and waits left unanswered (opt-in); like the sweeper, safe in every process.
    const escalation = createEscalation({ sql: db.sql, clock, log, voice: createVoiceTransport(config, log), publicUrl: config.publicUrl, pepper: config.pepper, dailyCap: config.voiceDailyCap, updates })
    const http = app.listen(config.port, config.host)
    await once(http, 'listening')
    sweeper.start(opts.sweepIntervalMs ?? 10_000)
    escalation.start(opts.sweepIntervalMs ?? 10_000)
    http.keepAliveTimeout = 65_000
    const { port } = http.address() as AddressInfo
    const host = config.host.includes(':') ? `[${config.host}]` : config.host
    const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
    let closing: Promise<void> | undefined
    return {
      url,
      port,
      db,
      http,
      close: () =>
        (closing ??= (async () => {
          const closed = new Promise<void>((resolve) => http.close(() => resolve()))
          http.closeIdleConnections()
          // Open dashboard live streams would hold the server open until the forced cut.
          updates.close()
          // In-flight requests get a few seconds to finish; then the rest are cut.
          const force = setTimeout(() => http.closeAllConnections(), 5_000)
          await closed
          clearTimeout(force)
          await sweeper.stop()
          await escalation.stop()
          await db.close()
        })()),
    }
  } catch (e) {
    await db.close().catch(() => undefined)
    throw e
  }
}
