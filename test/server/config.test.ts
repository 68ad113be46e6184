import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../server/config.js'

const dataDir = () => mkdtempSync(join(tmpdir(), 'cfg-'))
const secret = 'x'.repeat(32)
const twilioEnv = { TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 'tok', TWILIO_PHONE_NUMBER: '+15005550006' }

function failure(env: Record<string, string>): string {
  try {
    loadConfig(env)
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    const message = (e as Error).message
    expect(message.split('\n')).toHaveLength(1)
    return message
  }
  throw new Error('expected the configuration to be refused')
}

describe('server configuration', () => {
  it('runs with nothing set: 127.0.0.1:8787, embedded database, console texts', () => {
    const config = loadConfig({ DATA_DIR: dataDir() })
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8787, databaseUrl: undefined, twilio: undefined, publicUrl: 'http://127.0.0.1:8787', allowedCountryCodes: ['+1'], smsRateLimitMinutes: 30, ipRateLimitPerMinute: 100 })
  })

  it('ends pairings after 30 days and allows 50 live monitoring sessions per person unless told otherwise', () => {
    expect(loadConfig({ DATA_DIR: dataDir() })).toMatchObject({ tokenFamilyMaxDays: 30, maxLiveSessionsPerUser: 50 })
    expect(loadConfig({ DATA_DIR: dataDir(), TOKEN_FAMILY_MAX_DAYS: '7', MAX_LIVE_SESSIONS_PER_USER: '5' })).toMatchObject({ tokenFamilyMaxDays: 7, maxLiveSessionsPerUser: 5 })
  })

  it('names the variable and what it expects when JWT_SECRET is too short', () => {
    expect(failure({ JWT_SECRET: 'short-secret', DATA_DIR: dataDir() })).toBe(
      'Invalid configuration: JWT_SECRET must be at least 32 bytes (got 12); generate one with: openssl rand -base64 48',
    )
  })

  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT must be a port number/],
    [{ PORT: '70000' }, /^Invalid configuration: PORT must be 0-65535/],
    [{ DATABASE_URL: 'mysql://x' }, /^Invalid configuration: DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL/],
    [{ PUBLIC_URL: 'ftp://x' }, /^Invalid configuration: PUBLIC_URL must be an http\(s\) URL/],
    [{ ALLOWED_COUNTRY_CODES: '1,44' }, /^Invalid configuration: ALLOWED_COUNTRY_CODES\.0 must be calling codes/],
    [{ SMS_CHARSET: 'ascii' }, /^Invalid configuration: SMS_CHARSET must be "unicode" or "gsm7"/],
    [{ LOG_LEVEL: 'loud' }, /^Invalid configuration: LOG_LEVEL must be one of/],
    [{ SMS_RATE_LIMIT_MINUTES: '-1' }, /^Invalid configuration: SMS_RATE_LIMIT_MINUTES must be 0 or more/],
    [{ IP_RATE_LIMIT_PER_MINUTE: 'lots' }, /^Invalid configuration: IP_RATE_LIMIT_PER_MINUTE must be a number of requests/],
    [{ TWILIO_ACCOUNT_SID: 'AC123' }, /^Invalid configuration: TWILIO_ACCOUNT_SID must look like AC/],
    [{ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}` }, /^Invalid configuration: TWILIO_AUTH_TOKEN is required/],
    [{ TWILIO_ACCOUNT_SID: `AC${'a'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't' }, /TWILIO_PHONE_NUMBER or TWILIO_MESSAGING_SERVICE_SID is required/],
    [{ TWILIO_PHONE_NUMBER: '555-1234' }, /^Invalid configuration: TWILIO_PHONE_NUMBER must be an E\.164 number/],
    [{ TOKEN_FAMILY_MAX_DAYS: '0' }, /^Invalid configuration: TOKEN_FAMILY_MAX_DAYS must be at least 1 day/],
    [{ TOKEN_FAMILY_MAX_DAYS: 'a month' }, /^Invalid configuration: TOKEN_FAMILY_MAX_DAYS must be a number of days/],
    [{ MAX_LIVE_SESSIONS_PER_USER: '0' }, /^Invalid configuration: MAX_LIVE_SESSIONS_PER_USER must be at least 1/],
  ])('refuses %o with one clear line', (env, expected) => {
    expect(failure({ JWT_SECRET: secret, DATA_DIR: dataDir(), ...env })).toMatch(expected)
  })

  it('in production requires every secret, the public URL and Twilio', () => {
    expect(failure({ NODE_ENV: 'production', DATA_DIR: dataDir() })).toMatch(/JWT_SECRET is required when NODE_ENV=production/)
    expect(failure({ NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: dataDir() })).toMatch(/TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER .* are required when NODE_ENV=production/)
    expect(failure({ NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: dataDir(), ...twilioEnv })).toMatch(/PUBLIC_URL is required/)
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET: secret, DATA_DIR: dataDir(), PUBLIC_URL: 'https://sms.example.com/', ...twilioEnv })
    expect(config.twilio).toMatchObject({ from: { phoneNumber: '+15005550006' } })
    expect(config.publicUrl).toBe('https://sms.example.com')
  })

  it('generates a development secret once, keeps it in the data directory with mode 0600, and reuses it', () => {
    const dir = dataDir()
    const first = loadConfig({ DATA_DIR: dir })
    expect(first.jwtSecretSource).toBe('generated')
    const file = join(dir, 'jwt-secret')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8').trim()).toBe(first.jwtSecret)
    const second = loadConfig({ DATA_DIR: dir })
    expect(second.jwtSecretSource).toBe('data-dir')
    expect(second.jwtSecret).toBe(first.jwtSecret)
    expect(second.pepper).toBe(first.pepper)
  })

  it('parses the country allowlist and prefers a messaging service when both senders are given', () => {
    const config = loadConfig({ JWT_SECRET: secret, DATA_DIR: dataDir(), ALLOWED_COUNTRY_CODES: ' +1, +44 ', ...twilioEnv, TWILIO_MESSAGING_SERVICE_SID: `MG${'b'.repeat(32)}` })
    expect(config.allowedCountryCodes).toEqual(['+1', '+44'])
    expect(config.twilio?.from).toEqual({ messagingServiceSid: `MG${'b'.repeat(32)}` })
  })
})
