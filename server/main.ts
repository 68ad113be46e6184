import { ConfigError, loadConfig } from './config.js'
import { proxyNotTrusted } from './http/client-address.js'
import { EmbeddedPostgresUnreachable } from './db/embedded-home.js'
import { createLogger } from './log.js'
import { startServer } from './server.js'

// `npm start`: the server with graceful shutdown on SIGINT/SIGTERM. Run `node build/server/main.js`
// directly under a supervisor (systemd, a container): `npm` does not pass SIGTERM on to its child.

let config
try {
  config = loadConfig()
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`)
    process.exit(1)
  }
  throw e
}

const log = createLogger({ level: config.logLevel })
// The last line of defence for "never crash on a database outage": a query of a background task that
// was in flight when PostgreSQL went away (ECONNRESET) rejects with nobody awaiting it any more, and
// Node would end the process. Requests have their own error handler; this logs and carries on.
process.on('unhandledRejection', (err) => log.error({ err }, 'a background task failed (unhandled rejection); the server carries on'))
if (config.jwtSecretSource === 'generated') log.warn({ file: `${config.dataDir}/jwt-secret` }, 'JWT_SECRET is not set: generated a development secret (set JWT_SECRET in production)')

let server: Awaited<ReturnType<typeof startServer>>
try {
  server = await startServer(config, log)
} catch (err) {
  if (err instanceof EmbeddedPostgresUnreachable) process.stderr.write(`${err.message}\n`)
  else log.fatal({ err }, 'the server could not start')
  process.exit(1)
}
log.info({ url: server.url, public_url: config.publicUrl, sms: config.twilio ? 'twilio' : 'console', trust_proxy: config.trustProxy }, `claude-sms-notifier server listening on ${server.url}`)
if (proxyNotTrusted(config)) {
  log.warn({ public_url: config.publicUrl }, 'TRUST_PROXY is not set, so every client is counted as the proxy in front of this server: set TRUST_PROXY=loopback (see docs/deploy.md)')
}

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  log.info({ signal }, 'shutting down: finishing requests in flight')
  const hardStop = setTimeout(() => {
    log.error('shutdown took longer than 15 s; exiting anyway')
    server.db.embedded?.killSync()
    process.exit(1)
  }, 15_000)
  hardStop.unref()
  try {
    await server.close()
    log.info('stopped cleanly')
    process.exitCode = 0
  } catch (err) {
    log.error({ err }, 'error while shutting down')
    process.exitCode = 1
  }
  clearTimeout(hardStop)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
// Last resort if the process dies another way: do not leave the embedded postmaster running.
process.on('exit', () => server.db.embedded?.killSync())
