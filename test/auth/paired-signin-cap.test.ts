import { describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { postJson } from '../support/pairing.js'
import { testConfig, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

const db = useTestDatabase()
// From the real time: the dashboard client drops cookies whose expiry has passed by the wall clock.
const clock = manualClock(new Date())
const twilio = useTwilioEndpoint()
// Two codes a day for strangers, two for people already paired: small enough to spend in a test.
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'auth-paired-signin-cap', env: { PAIRING_DAILY_CAP: '2', PAIRED_SIGNIN_DAILY_CAP: '2' } }))

let addresses = 0
// Each from its own address: only the daily budgets are at stake here, not the per-address limit.
const askForCode = (phone: string) => postJson(`${server.url}/login`, { phone, state: 'paired-cap-state', mode: 'remote' }, { 'x-forwarded-for': `198.51.100.${++addresses}` })

async function limitOf(res: Response): Promise<unknown> {
  expect(res.status).toBe(429)
  return ErrorBody.parse(await res.json()).details.limit
}

describe('people already paired have a daily code budget of their own (PAIRED_SIGNIN_DAILY_CAP)', () => {
  it('strangers who spend PAIRING_DAILY_CAP do not stop paired people from signing in, to the plugin or the dashboard', async () => {
    const alice = await pairedUser(db.sql, server.config, { clock })
    const bob = await pairedUser(db.sql, server.config, { clock })
    const carol = await pairedUser(db.sql, server.config, { clock })

    // Strangers ask for codes for numbers nobody paired, until the server's daily cap is spent.
    expect((await askForCode(testPhone())).status).toBe(200)
    expect((await askForCode(testPhone())).status).toBe(200)
    expect(await limitOf(await askForCode(testPhone()))).toBe('global')

    // Alice pairs a second computer; Bob signs in to the dashboard.
    const forAlice = await askForCode(alice.user.phoneE164)
    expect(forAlice.status).toBe(200)
    expect(twilio.lastTo(alice.user.phoneE164)?.body).toMatch(/code is \d{6}/)
    const dashboard = new DashboardClient(server.url)
    const loginPage = await (await dashboard.get('/dashboard/login')).text()
    const asked = await dashboard.post('/dashboard/login', { csrf: csrfOf(loginPage), phone: bob.user.phoneE164 })
    expect(asked.status).toBe(303)
    expect(twilio.lastTo(bob.user.phoneE164)?.body).toMatch(/dashboard sign-in code is \d{6}/)

    // Their budget is spent too now: Carol waits, told why; a stranger still waits for the global one.
    const forCarol = await askForCode(carol.user.phoneE164)
    expect(await limitOf(forCarol.clone())).toBe('paired')
    expect(ErrorBody.parse(await forCarol.json()).message).toMatch(/sign-in codes to its users as it allows per day/)
    expect(await limitOf(await askForCode(testPhone()))).toBe('global')

    // A day later both budgets are open again.
    clock.advance(86_400_000)
    expect((await askForCode(carol.user.phoneE164)).status).toBe(200)
    expect((await askForCode(testPhone())).status).toBe(200)
  })

  it('PAIRED_SIGNIN_DAILY_CAP defaults to 500; a bad value stops start-up naming it', () => {
    expect(testConfig({}).pairedSigninDailyCap).toBe(500)
    expect(testConfig({ PAIRED_SIGNIN_DAILY_CAP: '40' }).pairedSigninDailyCap).toBe(40)
    expect(() => testConfig({ PAIRED_SIGNIN_DAILY_CAP: 'many' })).toThrow(/^Invalid configuration: PAIRED_SIGNIN_DAILY_CAP /)
    expect(() => testConfig({ PAIRED_SIGNIN_DAILY_CAP: '-3' })).toThrow(/PAIRED_SIGNIN_DAILY_CAP must be 0 or more/)
  })
})
