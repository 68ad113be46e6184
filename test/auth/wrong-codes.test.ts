import { beforeEach, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { codeTextedTo, postJson } from '../support/pairing.js'
import { recordSecret } from '../support/secrets.js'
import { testConfig, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

const db = useTestDatabase()
// From the real time: the dashboard client drops cookies whose expiry has passed by the wall clock.
const clock = manualClock(new Date())
const twilio = useTwilioEndpoint()
// Four wrong codes per number per day, so that a lock takes a handful of requests.
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'auth-wrong-codes', env: { WRONG_CODES_PER_DAY: '4' }, pairingLimits: { perIpPerHour: 1_000 } }))
beforeEach(() => {
  clock.advance(2 * 3_600_000)
})

const LOCK_TEXT = /sign-in for this number is locked for 24 hours because too many wrong codes were entered/

async function askForCode(phone: string): Promise<Response> {
  return postJson(`${server.url}/login`, { phone, state: 'wrong-codes-state', mode: 'remote' })
}

async function tempTokenFor(phone: string): Promise<string> {
  const res = await askForCode(phone)
  expect(res.status).toBe(200)
  const token = ((await res.json()) as { temp_token: string }).temp_token
  recordSecret('token', token)
  return token
}

/** A wrong code: one digit off the one texted, so it is never right by chance. */
function wrongCodeFor(phone: string): string {
  const code = codeTextedTo(twilio, phone)
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`
}

const exchange = (tempToken: string, code: string) => postJson(`${server.url}/auth/exchange`, { temp_token: tempToken, pairing_code: code })
const lockTexts = (phone: string) => twilio.messages.filter((m) => m.to === phone && LOCK_TEXT.test(m.body))

describe('wrong codes are counted per number per day (WRONG_CODES_PER_DAY), whatever temp token they come with', () => {
  it('guessing spread over pairing and dashboard codes locks the number for 24 hours, and the person is told once', async () => {
    const phone = testPhone()
    const first = await tempTokenFor(phone)
    const wrongFirst = wrongCodeFor(phone)
    expect((await exchange(first, wrongFirst)).status).toBe(400)
    expect((await exchange(first, wrongFirst)).status).toBe(400)

    clock.advance(61_000)
    const second = await tempTokenFor(phone)
    const rightSecond = codeTextedTo(twilio, phone)
    expect((await exchange(second, wrongCodeFor(phone))).status).toBe(400)

    // The fourth wrong code of the day comes through the dashboard's sign-in.
    clock.advance(61_000)
    const dashboard = new DashboardClient(server.url)
    const loginPage = await (await dashboard.get('/dashboard/login')).text()
    expect((await dashboard.post('/dashboard/login', { csrf: csrfOf(loginPage), phone })).status).toBe(303)
    const codePage = await (await dashboard.get('/dashboard/login/code')).text()
    const locked = await dashboard.post('/dashboard/login/code', { csrf: csrfOf(codePage), code: wrongCodeFor(phone) })
    expect(locked.status).toBe(429)
    expect(await locked.text()).toContain('Sign-in for this number is locked after too many wrong codes')
    expect(lockTexts(phone)).toHaveLength(1)

    // Even the right code of a temp token that is still live does not work now.
    const refused = await exchange(second, rightSecond)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe(String(86_400))
    const body = ErrorBody.parse(await refused.json())
    expect(body.error).toBe('rate_limited')
    expect(body.details).toEqual({ retry_after: 86_400, limit: 'locked' })

    // No new code is sent while the number is locked, and the person is not texted again.
    clock.advance(3_600_000)
    const again = await askForCode(phone)
    expect(again.status).toBe(429)
    expect(ErrorBody.parse(await again.json()).details).toEqual({ retry_after: 86_400 - 3_600, limit: 'locked' })
    expect(lockTexts(phone)).toHaveLength(1)
    expect(twilio.messages.filter((m) => m.to === phone)).toHaveLength(4)

    // A day after the lock, the person pairs as usual.
    clock.advance(86_400_000 - 3_600_000)
    const fresh = await tempTokenFor(phone)
    expect((await exchange(fresh, codeTextedTo(twilio, phone))).status).toBe(200)
  })

  it('the answers for a locked number are the same whether or not it belongs to a user', async () => {
    const stranger = testPhone()
    const { user } = await pairedUser(db.sql, server.config, { clock })
    // Both locked at the same moment, by four wrong codes on one temp token each.
    const answers: Response[] = []
    for (const phone of [stranger, user.phoneE164]) {
      const token = await tempTokenFor(phone)
      const wrong = wrongCodeFor(phone)
      for (let i = 0; i < 3; i++) expect((await exchange(token, wrong)).status).toBe(400)
      answers.push(await exchange(token, wrong))
    }
    clock.advance(60_000)
    answers.push(await askForCode(stranger), await askForCode(user.phoneE164))

    const shapes = await Promise.all(answers.map(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), body: { ...ErrorBody.parse(await r.json()), request_id: '' } })))
    expect(shapes[0]).toEqual(shapes[1])
    expect(shapes[2]).toEqual(shapes[3])
    expect(shapes[0]!.status).toBe(429)
    expect(lockTexts(stranger)).toHaveLength(1)
    expect(lockTexts(user.phoneE164)).toHaveLength(1)
  })

  it('wrong codes of another number do not count', async () => {
    const guessed = testPhone()
    const token = await tempTokenFor(guessed)
    const wrong = wrongCodeFor(guessed)
    for (let i = 0; i < 3; i++) expect((await exchange(token, wrong)).status).toBe(400)
    const other = testPhone()
    const otherToken = await tempTokenFor(other)
    expect((await exchange(otherToken, wrongCodeFor(other))).status).toBe(400)
    expect((await exchange(otherToken, codeTextedTo(twilio, other))).status).toBe(200)
    // And yesterday's wrong codes do not count today.
    clock.advance(86_400_000)
    const next = await tempTokenFor(guessed)
    expect((await exchange(next, wrongCodeFor(guessed))).status).toBe(400)
    expect((await exchange(next, codeTextedTo(twilio, guessed))).status).toBe(200)
  })

  it('WRONG_CODES_PER_DAY defaults to 20; a bad value stops start-up naming it', () => {
    expect(testConfig({}).wrongCodesPerDay).toBe(20)
    expect(() => testConfig({ WRONG_CODES_PER_DAY: '0' })).toThrow(/^Invalid configuration: WRONG_CODES_PER_DAY must be at least 1/)
    expect(() => testConfig({ WRONG_CODES_PER_DAY: 'lots' })).toThrow(/WRONG_CODES_PER_DAY/)
  })
})
