import { once } from 'node:events'
import type { Server } from 'node:http'
import { afterAll, beforeAll } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { createApp, type AppDeps } from '../../server/app.js'
import { systemClock, type Clock } from '../../server/clock.js'
import { loadConfig, type Config } from '../../server/config.js'
import type { Logger } from '../../server/log.js'
import { createSmsSender, type SenderOptions, type SmsSender } from '../../server/sms/sender.js'
import { createTransport } from '../../server/server.js'
import { listenOnLoopback } from './listen.js'
import { captureLog, consoleTextsSink, type CapturedLog } from './log.js'
import { startTwilioEndpoint, type TwilioEndpoint } from './twilio-endpoint.js'

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!'
export const TWILIO_FROM = '+15005550006'

export interface TestServer {
  url: string
  config: Config
  sms: SmsSender
  log: Logger
  logs: CapturedLog
  /**
   * Console mode: the "[console text]" lines the server printed on its terminal (what a phone would
   * have shown, codes included), kept apart from the logs the suite scans for secrets.
   */
  consoleTexts: string[]
  http: Server
  /** Stops answering (connections refused), as when the server is down for a deploy. */
  goDown(): Promise<void>
  /** Listens again on the same port. */
  comeBack(): Promise<void>
  close(): Promise<void>
}

/** Config as the server would load it from this environment, with test defaults. */
export function testConfig(env: Record<string, string | undefined> = {}, twilio?: TwilioEndpoint): Config {
  return loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'claude-sms-data-')),
    ALLOWED_COUNTRY_CODES: '+1,+44',
    LOG_LEVEL: 'debug',
    // Tests stand in for clients behind a proxy on this computer, telling their address in
    // X-Forwarded-For (test/auth/proxy-trust.test.ts checks the default, which believes no proxy).
    TRUST_PROXY: 'loopback',
    ...(twilio
      ? twilio.serverEnv(TWILIO_FROM)
      : {}),
    ...env,
  })
}

/**
 * The real app on 127.0.0.1:0 over a test database, texting through the real twilio SDK to the local
 * Twilio-compatible endpoint (or the console transport when none is given).
 */
export async function startTestServer(opts: {
  sql: Sql
  twilio?: TwilioEndpoint
  clock?: Clock
  env?: Record<string, string | undefined>
  name?: string
  sender?: Partial<SenderOptions>
  /**
   * Requests per minute per address. Tests send many requests from 127.0.0.1 under a frozen clock, so
   * the default here is far above production's 100 (test/auth/ip-rate-limit.test.ts checks that one).
   */
  ipRateLimit?: AppDeps['ipRateLimit']
  pairingLimits?: AppDeps['pairingLimits']
  /** Listen on this port: a server restarted where its clients know it. */
  port?: number
}): Promise<TestServer> {
  const logs = captureLog(opts.name ?? 'server')
  const config = testConfig(opts.env, opts.twilio)
  const consoleTexts: string[] = []
  const transport = createTransport(config, logs.log, { print: consoleTextsSink(opts.name ?? 'server', consoleTexts) })
  // Listen first to learn the port (PUBLIC_URL and Twilio's StatusCallback need it), then attach the app.
  const { server: http, port, url, close } = await listenOnLoopback(() => {}, opts.port)
  http.removeAllListeners('request')
  const publicConfig: Config = { ...config, publicUrl: opts.env?.PUBLIC_URL ?? url, port }
  const sms = createSmsSender({
    sql: opts.sql,
    transport,
    log: logs.log,
    pepper: config.pepper,
    statusCallbackUrl: opts.twilio ? `${publicConfig.publicUrl}/twilio/status` : undefined,
    backoffMs: () => 1,
    ...opts.sender,
  })
  const app = createApp({
    config: publicConfig,
    sql: opts.sql,
    sms,
    clock: opts.clock ?? systemClock,
    log: logs.log,
    ipRateLimit: opts.ipRateLimit ?? { limit: 1_000_000 },
    pairingLimits: opts.pairingLimits,
  })
  http.on('request', app)
  return {
    url,
    config: publicConfig,
    sms,
    log: logs.log,
    logs,
    consoleTexts,
    http,
    async goDown() {
      http.closeAllConnections()
      await new Promise<void>((r) => http.close(() => r()))
    },
    async comeBack() {
      http.listen(port, '127.0.0.1')
      await once(http, 'listening')
    },
    close,
  }
}

/**
 * The file's test server, started before its tests and closed after them, for files whose tests all
 * share one: `const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name }))`. The options
 * are read when the server starts, so they may name other fixtures of the file.
 */
export function useTestServer(options: () => Parameters<typeof startTestServer>[0]): TestServer {
  let server: TestServer | undefined
  beforeAll(async () => {
    server = await startTestServer(options())
  })
  afterAll(() => server?.close())
  return lateBound(() => server, 'the test server')
}

/** The file's Twilio-compatible endpoint, started before its tests and closed after them. */
export function useTwilioEndpoint(): TwilioEndpoint {
  let endpoint: TwilioEndpoint | undefined
  beforeAll(async () => {
    endpoint = await startTwilioEndpoint()
  })
  afterAll(() => endpoint?.close())
  return lateBound(() => endpoint, 'the Twilio endpoint')
}

/** An object that stands for one created in beforeAll: property reads go to it once it exists. */
function lateBound<T extends object>(current: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const target = current()
      if (!target) throw new Error(`${what} is used before beforeAll started it`)
      const value = Reflect.get(target, key, target) as unknown
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    },
  })
}
