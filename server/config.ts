import { createHmac, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { parseTrustProxy, type TrustProxy } from './http/client-address.js'
import { DEFAULT_APPROVAL_DAILY_CAP } from '../contract/approvals.js'
import { DEFAULT_EMBEDDED_PG_HOME } from './db/embedded-home.js'

/** Raised when the environment cannot start the server; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)
const optionalString = z.preprocess(blankToUndefined, z.string().optional())

const EnvSchema = z
  .object({
    NODE_ENV: z.preprocess(blankToUndefined, z.enum(['development', 'production', 'test']).default('development')),
    HOST: z.preprocess(blankToUndefined, z.string().default('127.0.0.1')),
    PORT: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a port number' }).int('must be a whole number').min(0, 'must be 0-65535').max(65535, 'must be 0-65535').default(8787),
    ),
    DATA_DIR: z.preprocess(blankToUndefined, z.string().default('./data')),
    DATABASE_URL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
        .optional(),
    ),
    JWT_SECRET: z.preprocess(
      blankToUndefined,
      z
        .string()
        .refine((v) => Buffer.byteLength(v) >= 32, {
          error: (issue) => `must be at least 32 bytes (got ${Buffer.byteLength(String(issue.input))}); generate one with: openssl rand -base64 48`,
        })
        .optional(),
    ),
    PUBLIC_URL: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://sms.example.com' }).optional()),
    TWILIO_ACCOUNT_SID: z.preprocess(blankToUndefined, z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must look like AC followed by 32 hex characters').optional()),
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_PHONE_NUMBER: z.preprocess(blankToUndefined, z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +15551234567').optional()),
    TWILIO_MESSAGING_SERVICE_SID: z.preprocess(blankToUndefined, z.string().regex(/^MG[0-9a-fA-F]{32}$/, 'must look like MG followed by 32 hex characters').optional()),
    TWILIO_API_BASE: z.preprocess(blankToUndefined, z.url({ protocol: /^https?$/, error: 'must be an http(s) base URL such as https://api.twilio.com' }).optional()),
    ALLOWED_COUNTRY_CODES: z.preprocess(
      blankToUndefined,
      z
        .string()
        .default('+1')
        .transform((v) => v.split(',').map((c) => c.trim()).filter(Boolean))
        .pipe(z.array(z.string().regex(/^\+[1-9]\d{0,3}$/, 'must be calling codes separated by commas, e.g. "+1,+44"')).min(1, 'must name at least one calling code, e.g. "+1"')),
    ),
    PAIRING_DAILY_CAP: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of texts, e.g. 500' }).int('must be a whole number').min(0, 'must be 0 or more').default(500),
    ),
    PAIRED_SIGNIN_DAILY_CAP: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of texts, e.g. 500' }).int('must be a whole number').min(0, 'must be 0 or more').default(500),
    ),
    WRONG_CODES_PER_DAY: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of wrong codes, e.g. 20' }).int('must be a whole number').min(1, 'must be at least 1').default(20),
    ),
    TRUST_PROXY: z.string().optional().transform((v, ctx): TrustProxy => {
      const parsed = parseTrustProxy(v)
      if (parsed.ok) return parsed.value
      ctx.addIssue({ code: 'custom', message: parsed.message })
      return z.NEVER
    }),
    APPROVAL_DAILY_CAP: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of texts, e.g. 100' }).int('must be a whole number').min(0, 'must be 0 or more').default(DEFAULT_APPROVAL_DAILY_CAP),
    ),
    PAIRING_PER_ADDRESS_PER_HOUR: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of codes, e.g. 10' }).int('must be a whole number').min(1, 'must be 1 or more').default(10),
    ),
    PAIRING_PER_NUMBER_PER_HOUR: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of codes, e.g. 5' }).int('must be a whole number').min(1, 'must be 1 or more').default(5),
    ),
    SMS_RATE_LIMIT_MINUTES: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of minutes' }).int('must be a whole number of minutes').min(0, 'must be 0 or more').max(1440, 'must be at most 1440 (a day)').default(30),
    ),
    IP_RATE_LIMIT_PER_MINUTE: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of requests' }).int('must be a whole number').min(1, 'must be at least 1').default(100),
    ),
    SMS_PRICE_PER_SEGMENT: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a price in USD, e.g. 0.0083' }).min(0, 'must be 0 or more').max(10, 'must be a price per SMS segment in USD, e.g. 0.0083').default(0.0083),
    ),
    VOICE_DAILY_CAP: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of calls, e.g. 10' }).int('must be a whole number').min(0, 'must be 0 or more').max(1000, 'must be at most 1000').default(10),
    ),
    VOICE_PRICE_PER_MINUTE: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a price in USD, e.g. 0.014' }).min(0, 'must be 0 or more').max(10, 'must be a price per call minute in USD, e.g. 0.014').default(0.014),
    ),
    TOKEN_FAMILY_MAX_DAYS: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of days, e.g. 30' }).int('must be a whole number of days').min(1, 'must be at least 1 day').max(365, 'must be at most 365 days').default(30),
    ),
    MAX_LIVE_SESSIONS_PER_USER: z.preprocess(
      blankToUndefined,
      z.coerce.number({ error: 'must be a number of sessions, e.g. 50' }).int('must be a whole number').min(1, 'must be at least 1').max(100_000, 'must be at most 100000').default(50),
    ),
    SMS_CHARSET: z.preprocess(blankToUndefined, z.enum(['unicode', 'gsm7'], { error: 'must be "unicode" or "gsm7"' }).default('unicode')),
    EMBEDDED_PG_HOME: z.preprocess(blankToUndefined, z.string().default(DEFAULT_EMBEDDED_PG_HOME)),
    LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info')),
  })

export interface TwilioConfig {
  accountSid: string
  authToken: string
  from: { phoneNumber: string } | { messagingServiceSid: string }
  apiBase: string | undefined
}

export interface Config {
  env: 'development' | 'production' | 'test'
  host: string
  port: number
  dataDir: string
  databaseUrl: string | undefined
  jwtSecret: string
  /** Where the JWT secret came from, for the start-up log line (never the secret itself). */
  jwtSecretSource: 'env' | 'generated' | 'data-dir'
  /** Server-side HMAC key for pairing codes and phone hashes; derived from JWT_SECRET, never stored in the database. */
  pepper: string
  publicUrl: string
  twilio: TwilioConfig | undefined
  allowedCountryCodes: string[]
  /** Pairing texts the server sends per 24 hours to all numbers together (PAIRING_DAILY_CAP), against SMS pumping. */
  pairingDailyCap: number
  /**
   * Sign-in and pairing codes per 24 hours to numbers that are already paired, all together
   * (PAIRED_SIGNIN_DAILY_CAP): a budget apart from pairingDailyCap, so strangers who spend that one
   * cannot lock the server's users out.
   */
  pairedSigninDailyCap: number
  /** Wrong codes per number per 24 hours before that number's sign-in is locked for a day (WRONG_CODES_PER_DAY). */
  wrongCodesPerDay: number
  /** Which proxies' X-Forwarded-For is believed (TRUST_PROXY); false: none, the address is the TCP peer's. */
  trustProxy: TrustProxy
  /** Codes per hour to one client address (PAIRING_PER_ADDRESS_PER_HOUR); raise it for local development. */
  pairingPerAddressPerHour: number
  /** Codes per hour to one number (PAIRING_PER_NUMBER_PER_HOUR). */
  pairingPerNumberPerHour: number
  smsCharset: 'unicode' | 'gsm7'
  /** Approval request texts per user per rolling 24 hours (APPROVAL_DAILY_CAP), so a runaway loop cannot run up a bill. */
  approvalDailyCap: number
  /** One text per this many minutes per user and alert type (DESIGN §5: 30); 0 turns the limit off. */
  smsRateLimitMinutes: number
  /** Requests per minute per client address on the endpoints without a limit of their own (DESIGN §5: 100). */
  ipRateLimitPerMinute: number
  /** USD per SMS segment for the dashboard's cost estimate (SMS_PRICE_PER_SEGMENT). */
  smsPricePerSegment: number
  /** Escalation calls per user per rolling 24 hours (VOICE_DAILY_CAP): a runaway cannot ring up a bill. */
  voiceDailyCap: number
  /** USD per started call minute for the dashboard's cost estimate (VOICE_PRICE_PER_MINUTE). */
  voicePricePerMinute: number
  /** A pairing (the token family of one /auth/exchange) ends this many days after it began, refreshes or not. */
  tokenFamilyMaxDays: number
  /** Monitoring sessions a user may have running at once (MAX_LIVE_SESSIONS_PER_USER); one more start is 429. */
  maxLiveSessionsPerUser: number
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** As root: where the embedded PostgreSQL's binaries and cluster go when its user cannot reach DATA_DIR or node_modules. */
  embeddedPgHome: string
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!
  const variable = issue.path.join('.') || 'environment'
  return `${variable} ${issue.message}`
}

/**
 * Reads and validates the server's environment. A bad value throws a ConfigError whose message is one
 * line naming the variable and what is expected. Outside production a missing JWT_SECRET is generated
 * once and kept in DATA_DIR/jwt-secret (mode 0600).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${firstIssue(parsed.error)}`)
  const e = parsed.data

  const twilioKeys = [e.TWILIO_ACCOUNT_SID, e.TWILIO_AUTH_TOKEN, e.TWILIO_PHONE_NUMBER ?? e.TWILIO_MESSAGING_SERVICE_SID]
  const someTwilio = twilioKeys.some((v) => v !== undefined)
  let twilio: TwilioConfig | undefined
  if (someTwilio) {
    if (!e.TWILIO_ACCOUNT_SID) throw new ConfigError('Invalid configuration: TWILIO_ACCOUNT_SID is required when any TWILIO_* variable is set')
    if (!e.TWILIO_AUTH_TOKEN) throw new ConfigError('Invalid configuration: TWILIO_AUTH_TOKEN is required when any TWILIO_* variable is set')
    const from = e.TWILIO_MESSAGING_SERVICE_SID
      ? { messagingServiceSid: e.TWILIO_MESSAGING_SERVICE_SID }
      : e.TWILIO_PHONE_NUMBER
        ? { phoneNumber: e.TWILIO_PHONE_NUMBER }
        : undefined
    if (!from) throw new ConfigError('Invalid configuration: TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required to send texts')
    twilio = { accountSid: e.TWILIO_ACCOUNT_SID, authToken: e.TWILIO_AUTH_TOKEN, from, apiBase: e.TWILIO_API_BASE }
  }

  if (e.NODE_ENV === 'production') {
    if (!e.JWT_SECRET) throw new ConfigError('Invalid configuration: JWT_SECRET is required when NODE_ENV=production (at least 32 bytes; openssl rand -base64 48)')
    if (!twilio) throw new ConfigError('Invalid configuration: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER (or TWILIO_MESSAGING_SERVICE_SID) are required when NODE_ENV=production')
    if (!e.PUBLIC_URL) throw new ConfigError('Invalid configuration: PUBLIC_URL is required when NODE_ENV=production (the https address Twilio and browsers reach, e.g. https://sms.example.com)')
  }

  const dataDir = resolve(e.DATA_DIR)
  let jwtSecret = e.JWT_SECRET
  let jwtSecretSource: Config['jwtSecretSource'] = 'env'
  if (!jwtSecret) ({ secret: jwtSecret, source: jwtSecretSource } = devJwtSecret(dataDir))

  const publicHost = e.HOST.includes(':') && !e.HOST.startsWith('[') ? `[${e.HOST}]` : e.HOST
  const publicUrl = (e.PUBLIC_URL ?? `http://${publicHost === '0.0.0.0' ? '127.0.0.1' : publicHost}:${e.PORT}`).replace(/\/+$/, '')

  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    jwtSecret,
    jwtSecretSource,
    pepper: createHmac('sha256', jwtSecret).update('claude-sms-notifier/pepper/v1').digest('base64url'),
    publicUrl,
    twilio,
    allowedCountryCodes: e.ALLOWED_COUNTRY_CODES,
    pairingDailyCap: e.PAIRING_DAILY_CAP,
    pairedSigninDailyCap: e.PAIRED_SIGNIN_DAILY_CAP,
    wrongCodesPerDay: e.WRONG_CODES_PER_DAY,
    trustProxy: e.TRUST_PROXY,
    pairingPerAddressPerHour: e.PAIRING_PER_ADDRESS_PER_HOUR,
    pairingPerNumberPerHour: e.PAIRING_PER_NUMBER_PER_HOUR,
    smsCharset: e.SMS_CHARSET,
    approvalDailyCap: e.APPROVAL_DAILY_CAP,
    smsRateLimitMinutes: e.SMS_RATE_LIMIT_MINUTES,
    ipRateLimitPerMinute: e.IP_RATE_LIMIT_PER_MINUTE,
    smsPricePerSegment: e.SMS_PRICE_PER_SEGMENT,
    voiceDailyCap: e.VOICE_DAILY_CAP,
    voicePricePerMinute: e.VOICE_PRICE_PER_MINUTE,
    tokenFamilyMaxDays: e.TOKEN_FAMILY_MAX_DAYS,
    maxLiveSessionsPerUser: e.MAX_LIVE_SESSIONS_PER_USER,
    logLevel: e.LOG_LEVEL,
    embeddedPgHome: resolve(e.EMBEDDED_PG_HOME),
  }
}

/** Development only: one random secret per data directory, so tokens survive restarts. */
function devJwtSecret(dataDir: string): { secret: string; source: 'generated' | 'data-dir' } {
  const file = join(dataDir, 'jwt-secret')
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim()
    if (Buffer.byteLength(secret) >= 32) return { secret, source: 'data-dir' }
  }
  mkdirSync(dataDir, { recursive: true })
  const secret = randomBytes(48).toString('base64url')
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${secret}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
  return { secret, source: 'generated' }
}
