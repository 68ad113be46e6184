import { randomUUID } from 'node:crypto'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { ErrorBody, RefreshResponse } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { csrfOf, DashboardClient, openLiveStream } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { api } from '../support/monitoring.js'
import { pairRemotely, postJson } from '../support/pairing.js'
import { textFromPhone } from '../support/phone.js'
import { recordSecret } from '../support/secrets.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

/**
 * A stolen access token against the running server: it must not outlive the person's logout, STOP or
 * "sign out everywhere", and refreshing cannot keep it alive past the pairing's absolute end.
 */
const db = useTestDatabase()
// Near the real time: the dashboard client judges its cookies' expiry by the real clock.
const clock = manualClock(new Date(Math.floor(Date.now() / 1000) * 1000))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'token-families', pairingLimits: { perIpPerHour: 1_000, perNumberPerMinute: 1_000, perNumberPerHour: 1_000 } }))

const SECOND = 1_000
const HOUR = 3_600_000
const DAY = 24 * HOUR
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const refresh = (token: string) => postJson(`${server.url}/auth/refresh`, {}, bearer(token))
const logout = (token: string) => postJson(`${server.url}/auth/logout`, {}, bearer(token))
/** Any authenticated use of a token: starting a monitoring session. */
const startWith = (token: string) => api(server.url, 'POST', '/sessions/start', { token, body: { claude_session_id: randomUUID(), description: 'Deploy' } })

async function refreshed(token: string): Promise<string> {
  const res = await refresh(token)
  expect(res.status).toBe(200)
  const body = RefreshResponse.parse(await res.json())
  recordSecret('token', body.access_token)
  return body.access_token
}

async function expect401(res: Response, error = 'unauthorized'): Promise<string> {
  expect(res.status).toBe(401)
  const body = ErrorBody.parse(await res.json())
  expect(body.error).toBe(error)
  return body.message
}

const pair = async (phone = testPhone()) => ({ phone, token: (await pairRemotely(server.url, twilio, phone)).accessToken })

describe('logout revokes the whole pairing', () => {
  it('a token refreshed from the pairing (say, a copy an attacker took) dies with the logout of any other', async () => {
    const { token: paired } = await pair()
    const stolen = await refreshed(paired)
    clock.advance(2 * HOUR)
    const current = await refreshed(stolen)

    const res = await logout(current)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ revoked: true, sessions_cleared: 0 })
    await expect401(await refresh(stolen))
    expect((await startWith(stolen)).status).toBe(401)
    await expect401(await refresh(current))
  })

  it('refreshes racing the logout leave no token of the pairing alive', async () => {
    const { token } = await pair()
    const [loggedOut, ...answers] = await Promise.all([logout(token), ...Array.from({ length: 8 }, () => refresh(token))])
    expect(loggedOut.status).toBe(200)
    const issued: string[] = []
    for (const res of answers) {
      expect([200, 401]).toContain(res.status)
      if (res.status === 200) issued.push(RefreshResponse.parse(await res.json()).access_token)
      else await res.body?.cancel()
    }
    for (const t of issued) recordSecret('token', t)
    for (const t of [token, ...issued]) expect((await startWith(t)).status).toBe(401)
  })

  it('another pairing of the same number (another computer) is left alone', async () => {
    const laptop = await pair()
    const desktop = await pair(laptop.phone)
    expect((await logout(laptop.token)).status).toBe(200)
    expect((await startWith(desktop.token)).status).toBe(200)
  })
})

describe('refresh rotates the token', () => {
  it('the old token works on for a short grace (a sibling process mid-request), then only the new one does', async () => {
    const { token: first } = await pair()
    const second = await refreshed(first)
    expect(decodeJwt(second).jti).not.toBe(decodeJwt(first).jti)

    // Another MCP server process read auth.json just before the rotation: its requests still go through,
    // and its own refresh of the same token is answered too (it is not logged out).
    clock.advance(30 * SECOND)
    expect((await startWith(first)).status).toBe(200)
    const sibling = await refreshed(first)

    clock.advance(31 * SECOND)
    const stale = await startWith(first)
    expect(stale.status).toBe(401)
    expect(stale.body.message).toMatch(/replaced by a refreshed one/)
    expect((await startWith(second)).status).toBe(200)
    expect((await startWith(sibling)).status).toBe(200)
  })

  it('a refreshed token presented for another refresh after its grace revokes the pairing: one of the two holders is not the person', async () => {
    const { token: first } = await pair()
    const thiefs = await refreshed(first) // the thief refreshed first
    clock.advance(5 * 60 * SECOND)
    const message = await expect401(await refresh(first)) // the person's process, later, with the old one
    expect(message).toMatch(/every token of this pairing is revoked/)
    await expect401(await refresh(thiefs))
    expect((await startWith(thiefs)).status).toBe(401)
  })
})

describe('a pairing has an absolute lifetime (TOKEN_FAMILY_MAX_DAYS, 30 days by default)', () => {
  it('refreshing every day keeps it alive 30 days, never longer; then refresh is 401 token_expired and the person pairs again', async () => {
    const pairedAt = clock.now().getTime()
    let { token } = await pair()
    let last = RefreshResponse.parse({ access_token: token, token_type: 'Bearer', expires_in: 0, expires_at: new Date().toISOString() })
    for (let day = 1; day < 30; day++) {
      clock.advance(DAY)
      const res = await refresh(token)
      expect(res.status).toBe(200)
      last = RefreshResponse.parse(await res.json())
      recordSecret('token', last.access_token)
      token = last.access_token
      expect(last.pairing_expires_at).toBe(new Date(pairedAt + 30 * DAY).toISOString())
    }
    // Day 29: the refreshed token is cut short at the pairing's end instead of living 36 hours.
    expect(Date.parse(last.expires_at)).toBe(pairedAt + 30 * DAY)
    expect(last.expires_in).toBe(DAY / 1000)

    clock.advance(DAY)
    const message = await expect401(await refresh(token), 'token_expired')
    expect(message).toMatch(/Pair again with \/sms-notifier:sms-setup/)
    expect((await startWith(token)).status).toBe(401)
  })
})

describe('the stored expiry counts, not only the JWT\'s exp claim', () => {
  it('a token whose row has expired is refused even though its signed claim has not', async () => {
    const { token } = await pair()
    await db.sql`update access_tokens set expires_at = ${new Date(clock.now().getTime() - SECOND)} where jti = ${decodeJwt(token).jti!}`
    expect(decodeJwt(token).exp! * 1000).toBeGreaterThan(clock.now().getTime())
    await expect401(await refresh(token), 'token_expired')
    expect((await startWith(token)).status).toBe(401)
  })
})

describe('STOP texted from the phone', () => {
  it('revokes every pairing of the number, refreshed tokens included, and signs out every dashboard browser (closing its live page)', async () => {
    const laptop = await pair()
    const laptopNow = await refreshed(laptop.token)
    const desktop = await pair(laptop.phone)
    const browser = new DashboardClient(server.url)
    await browser.signIn(laptop.phone, twilio)
    const live = await openLiveStream(server.url, browser.cookieHeader)
    await live.readUntil(/: connected/)
    const stranger = await pair()

    expect((await textFromPhone(twilio, server, laptop.phone, 'STOP')).status).toBe(200)

    for (const token of [laptop.token, laptopNow, desktop.token]) await expect401(await refresh(token))
    expect((await browser.get('/dashboard/sessions')).headers.get('location')).toBe('/dashboard/login')
    expect(await live.ended()).toMatch(/event: closed\ndata: \{"reason":"signed_out"\}/)
    expect((await startWith(stranger.token)).status).toBe(200)
  })
})

describe('"Sign out everywhere" on the dashboard', () => {
  it('needs the form\'s CSRF token: a forged POST changes nothing', async () => {
    const { phone, token } = await pair()
    const browser = new DashboardClient(server.url)
    await browser.signIn(phone, twilio)
    const forged = await browser.post('/dashboard/sign-out-everywhere', {})
    expect(forged.status).toBe(403)
    expect((await startWith(token)).status).toBe(200)
    expect((await browser.get('/dashboard/settings')).status).toBe(200)
  })

  it('ends every pairing, every dashboard sign-in and every monitored session of the number', async () => {
    const { phone, token } = await pair()
    const refreshedToken = await refreshed(token)
    const monitored = await startWith(refreshedToken)
    expect(monitored.status).toBe(200)
    const phoneBrowser = new DashboardClient(server.url)
    await phoneBrowser.signIn(phone, twilio)
    const laptopBrowser = new DashboardClient(server.url)
    await laptopBrowser.signIn(phone, twilio)
    const live = await openLiveStream(server.url, laptopBrowser.cookieHeader)
    await live.readUntil(/: connected/)

    const settings = await (await phoneBrowser.get('/dashboard/settings')).text()
    expect(settings).toContain('Sign out everywhere')
    const res = await phoneBrowser.post('/dashboard/sign-out-everywhere', { csrf: csrfOf(settings) })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/dashboard/login?signed_out=everywhere')
    expect(await (await phoneBrowser.get('/dashboard/login?signed_out=everywhere')).text()).toContain('signed out everywhere')

    await expect401(await refresh(token))
    await expect401(await refresh(refreshedToken))
    for (const browser of [phoneBrowser, laptopBrowser]) expect((await browser.get('/dashboard/sessions')).headers.get('location')).toBe('/dashboard/login')
    expect(await live.ended()).toContain('"reason":"signed_out"')
    const heartbeat = await api(server.url, 'POST', `/sessions/${monitored.body.monitoring_id as string}/heartbeat`, {
      token: monitored.body.session_token as string,
      body: { timestamp: clock.now().toISOString(), last_activity: null },
    })
    expect(heartbeat.status).toBe(401)
  })
})
