import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { decideSend, sendRules, DEFAULT_PAIRING_SEND_LIMITS } from '../../server/pairing/send-limits.js'
import { useTestDatabase } from '../support/db.js'
import { postJson } from '../support/pairing.js'
import { startTestServer, testConfig, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
let twilio: TwilioEndpoint
let server: TestServer

let ipCounter = 0
const newAddress = () => `203.0.113.${++ipCounter}`

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  server = await startTestServer({ sql: db.sql, twilio, clock, name: 'auth-send-limits' })
})
afterAll(async () => {
  await server.close()
  await twilio.close()
})
beforeEach(() => {
  twilio.reset()
  // A fresh hour for every test: the limits of one test do not leak into the next.
  clock.advance(2 * 3_600_000)
})

function askForCode(phone: string, ip: string, srv = server) {
  return postJson(`${srv.url}/login`, { phone, state: 'limits-state', mode: 'remote' }, { 'x-forwarded-for': ip })
}

async function expectLimited(res: Response, scope: string) {
  expect(res.status).toBe(429)
  const body = ErrorBody.parse(await res.json())
  expect(body.error).toBe('rate_limited')
  expect(body.details.limit).toBe(scope)
  const retryAfter = Number(res.headers.get('retry-after'))
  expect(retryAfter).toBe(body.details.retry_after)
  return retryAfter
}

describe('per number', () => {
  it('one code a minute: a second request within the minute is 429 with Retry-After and is not texted', async () => {
    const phone = testPhone()
    expect((await askForCode(phone, newAddress())).status).toBe(200)
    clock.advance(20_000)
    expect(await expectLimited(await askForCode(phone, newAddress()), 'number')).toBe(40)
    expect(twilio.messages).toHaveLength(1)
    clock.advance(40_000)
    expect((await askForCode(phone, newAddress())).status).toBe(200)
    expect(twilio.messages).toHaveLength(2)
  })

  it('five codes an hour: the sixth waits until the first is an hour old', async () => {
    const phone = testPhone()
    for (let i = 0; i < 5; i++) {
      expect((await askForCode(phone, newAddress())).status).toBe(200)
      clock.advance(61_000)
    }
    const retryAfter = await expectLimited(await askForCode(phone, newAddress()), 'number')
    expect(retryAfter).toBe(3_600 - 5 * 61)
    expect(twilio.messages).toHaveLength(5)
    clock.advance(retryAfter * 1000)
    expect((await askForCode(phone, newAddress())).status).toBe(200)
  })

  it('ten requests for one number at the same moment send exactly one text', async () => {
    const phone = testPhone()
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => askForCode(phone, newAddress())))).map((r) => r.status).sort()
    expect(statuses).toEqual([200, ...Array(9).fill(429)])
    expect(twilio.messages).toHaveLength(1)
  })

  it('"(415) 555-2671" and "+14155552671" are the same number for the limit', async () => {
    const ip = newAddress()
    expect((await askForCode('+1 415 555 2671', ip)).status).toBe(200)
    await expectLimited(await askForCode('(415) 555-2671', ip), 'number')
  })
})

describe('per address', () => {
  it('ten codes an hour from one address; the eleventh is 429, another address is fine', async () => {
    const ip = newAddress()
    for (let i = 0; i < 10; i++) expect((await askForCode(testPhone(), ip)).status).toBe(200)
    const retryAfter = await expectLimited(await askForCode(testPhone(), ip), 'ip')
    expect(retryAfter).toBe(3_600)
    expect(twilio.messages).toHaveLength(10)
    expect((await askForCode(testPhone(), newAddress())).status).toBe(200)
  })

  it('the browser form shows the limit on the page with Retry-After', async () => {
    const phone = testPhone()
    const ip = newAddress()
    expect((await askForCode(phone, ip)).status).toBe(200)
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
      body: new URLSearchParams({ phone, state: 'st4te-from-plugin', callback_uri: 'http://127.0.0.1:4000/cb' }),
      redirect: 'manual',
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toBe('60')
    const html = await res.text()
    expect(html).toContain('data-error="rate_limited"')
    expect(html).toContain('A code was sent to this number recently')
  })
})

describe('daily cap for the whole server (PAIRING_DAILY_CAP)', () => {
  it('once the cap is reached nobody gets a code until the oldest is a day old', async () => {
    const capped = await startTestServer({ sql: db.sql, twilio, clock, name: 'auth-send-limits-cap', env: { PAIRING_DAILY_CAP: '3' } })
    try {
      // The other tests of this file sent texts in the last 24 h too: start from a clean count.
      await db.sql`delete from pairing_sends`
      for (let i = 0; i < 3; i++) {
        expect((await askForCode(testPhone(), newAddress(), capped)).status).toBe(200)
        clock.advance(3_600_000)
      }
      const retryAfter = await expectLimited(await askForCode(testPhone(), newAddress(), capped), 'global')
      expect(retryAfter).toBe(86_400 - 3 * 3_600)
      clock.advance(retryAfter * 1000)
      expect((await askForCode(testPhone(), newAddress(), capped)).status).toBe(200)
    } finally {
      await capped.close()
    }
  })
})

describe('numbers the server will not text', () => {
  const refused: [string, string, string][] = [
    ['a French mobile (+33 not in ALLOWED_COUNTRY_CODES)', '+33 6 12 34 56 78', 'country_not_allowed'],
    ['a US premium-rate number', '+1 900 555 0100', 'not_mobile'],
    ['a US toll-free number', '+1 800 555 0100', 'not_mobile'],
    ['a UK premium-rate number', '+44 871 234 5678', 'not_mobile'],
    ['a UK landline', '+44 20 7946 0000', 'not_mobile'],
  ]
  for (const [name, phone, reason] of refused) {
    it(`refuses ${name} with 400 invalid_request, without texting`, async () => {
      const res = await askForCode(phone, newAddress())
      expect(res.status).toBe(400)
      const body = ErrorBody.parse(await res.json())
      expect(body.error).toBe('invalid_request')
      expect(body.details).toMatchObject({ field: 'phone', reason })
      expect(twilio.attempts).toBe(0)
    })
  }

  it('texts a UK mobile, since +44 is allowed', async () => {
    expect((await askForCode('+44 7400 123456', newAddress())).status).toBe(200)
    expect(twilio.lastTo('+447400123456')).toBeDefined()
  })

  it('reads a national number in the country the client names', async () => {
    const res = await postJson(`${server.url}/login`, { phone: '07400 123457', country: 'GB', state: 'limits-state', mode: 'remote' }, { 'x-forwarded-for': newAddress() })
    expect(res.status).toBe(200)
    expect(twilio.lastTo('+447400123457')).toBeDefined()
  })
})

describe('PAIRING_DAILY_CAP', () => {
  it('a value that is not a whole number stops start-up with a message naming it', () => {
    expect(() => testConfig({ PAIRING_DAILY_CAP: 'lots' })).toThrow(/PAIRING_DAILY_CAP/)
    expect(() => testConfig({ PAIRING_DAILY_CAP: '-1' })).toThrow(/PAIRING_DAILY_CAP must be 0 or more/)
    expect(testConfig({}).pairingDailyCap).toBe(500)
  })
})

describe('PAIRING_PER_ADDRESS_PER_HOUR and PAIRING_PER_NUMBER_PER_HOUR (a developer pairing often on a local server)', () => {
  it('raise the per-address and per-number limits of codes', async () => {
    const local = await startTestServer({ sql: db.sql, twilio, clock, name: 'auth-send-limits-raised', env: { PAIRING_PER_ADDRESS_PER_HOUR: '15', PAIRING_PER_NUMBER_PER_HOUR: '7' } })
    try {
      const address = newAddress()
      for (let i = 0; i < 15; i++) expect((await askForCode(testPhone(), address, local)).status).toBe(200)
      await expectLimited(await askForCode(testPhone(), address, local), 'ip')
      const phone = testPhone()
      for (let i = 0; i < 7; i++) {
        expect((await askForCode(phone, newAddress(), local)).status).toBe(200)
        clock.advance(61_000) // past the one-a-minute rule
      }
      await expectLimited(await askForCode(phone, newAddress(), local), 'number')
    } finally {
      await local.close()
    }
  })

  it('refuse values that are not whole numbers of 1 or more, naming the setting', () => {
    expect(() => testConfig({ PAIRING_PER_ADDRESS_PER_HOUR: '0' })).toThrow(/PAIRING_PER_ADDRESS_PER_HOUR must be 1 or more/)
    expect(() => testConfig({ PAIRING_PER_NUMBER_PER_HOUR: 'many' })).toThrow(/PAIRING_PER_NUMBER_PER_HOUR/)
    expect(testConfig({})).toMatchObject({ pairingPerAddressPerHour: 10, pairingPerNumberPerHour: 5 })
  })
})

describe('the limit decision (pure)', () => {
  const now = new Date('2026-03-02T12:00:00Z')
  const rules = sendRules(DEFAULT_PAIRING_SEND_LIMITS)
  const ago = (ms: number) => new Date(now.getTime() - ms)

  it('allows when no rule is full', () => {
    expect(decideSend(rules.map((rule) => ({ rule, limitthNewest: null })), now)).toEqual({ allowed: true })
  })

  it('ignores a full rule whose oldest counted send has left the window', () => {
    expect(decideSend([{ rule: rules[0]!, limitthNewest: ago(60_000) }], now)).toEqual({ allowed: true })
  })

  it('answers with the rule that stays full longest', () => {
    const decision = decideSend(
      [
        { rule: rules[0]!, limitthNewest: ago(10_000) },
        { rule: rules[2]!, limitthNewest: ago(3_000_000) },
      ],
      now,
    )
    expect(decision).toEqual({ allowed: false, scope: 'ip', retryAfterSeconds: 600 })
  })

  it('a cap of 0 refuses everything', () => {
    expect(decideSend([{ rule: { scope: 'global', windowMs: 86_400_000, limit: 0 }, limitthNewest: null }], now)).toMatchObject({ allowed: false, scope: 'global' })
  })
})
