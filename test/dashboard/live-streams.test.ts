import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, type TestBrowser } from '../support/browser.js'
import { manualClock } from '../../server/clock.js'
import { SESSION_TTL_MS } from '../../server/dashboard/cookie-session.js'
import { MAX_STREAMS_PER_SESSION } from '../../server/dashboard/live.js'
import { csrfOf, DashboardClient, openLiveStream } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

/** A live page's event stream lives no longer than the sign-in that opened it, and one sign-in opens only a few. */
const db = useTestDatabase()
// Near the real time: the dashboard client judges its cookies' expiry by the real clock.
const clock = manualClock(new Date())
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'dashboard-live-streams', pairingLimits: { perIpPerHour: 1_000, perNumberPerMinute: 1_000, perNumberPerHour: 1_000 } }))

async function signedIn(phone: string) {
  const browser = new DashboardClient(server.url)
  await browser.signIn(phone, twilio)
  return browser
}

async function live(browser: DashboardClient) {
  const stream = await openLiveStream(server.url, browser.cookieHeader)
  expect(stream.status).toBe(200)
  await stream.readUntil(/: connected/)
  return stream
}

describe('a live page\'s stream', () => {
  it('closes when its browser signs out; another browser of the same person keeps its stream and its updates', async () => {
    const phone = testPhone()
    const s = await monitoredSession(server, db.sql, { phone })
    const kitchen = await signedIn(phone)
    const office = await signedIn(phone)
    const kitchenLive = await live(kitchen)
    const officeLive = await live(office)

    const page = await (await kitchen.get('/dashboard/sessions')).text()
    expect((await kitchen.post('/dashboard/logout', { csrf: csrfOf(page) })).status).toBe(303)
    expect(await kitchenLive.ended()).toContain('event: closed\ndata: {"reason":"signed_out"}')

    await sendEvent(server, s, { event_type: 'waiting', details: { message: 'Proceed?' } })
    await officeLive.readUntil(new RegExp(`event: update\\ndata: .*"monitoringId":"${s.id}"`))
    officeLive.close()
  })

  it('closes once its sign-in has expired, at the first update after', async () => {
    const phone = testPhone()
    const s = await monitoredSession(server, db.sql, { phone })
    const browser = await signedIn(phone)
    const stream = await live(browser)
    clock.advance(SESSION_TTL_MS + 1_000)
    await sendEvent(server, s, { event_type: 'error', details: { error: 'late' } })
    const received = await stream.ended()
    expect(received).toContain('event: closed\ndata: {"reason":"session_expired"}')
    expect(received).not.toContain('event: update')
  })

  it(`at most ${MAX_STREAMS_PER_SESSION} per sign-in: one more closes the oldest, telling it why`, async () => {
    const phone = testPhone()
    const browser = await signedIn(phone)
    const tabs = []
    for (let i = 0; i < MAX_STREAMS_PER_SESSION; i++) tabs.push(await live(browser))
    const newest = await live(browser)
    expect(await tabs[0]!.ended()).toContain('event: closed\ndata: {"reason":"too_many_streams"}')
    for (const tab of tabs.slice(1)) expect(tab.received).not.toContain('event: closed')
    // Another sign-in of the same person has a budget of its own.
    const other = await live(await signedIn(phone))
    for (const s of [...tabs.slice(1), newest, other]) s.close()
  })
})

describe('in a real browser', () => {
  let browser: TestBrowser
  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterAll(() => browser?.close())

  it('a tab whose stream was closed for one opened later stops listening instead of reconnecting (no tab ping-pong)', async () => {
    const signed = await signedIn(testPhone())
    const context = await browser.newContext()
    await context.addCookies([...signed.cookies].map(([name, value]) => ({ name, value, url: server.url })))
    const pages = []
    for (let i = 0; i <= MAX_STREAMS_PER_SESSION; i++) {
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      await page.goto(`${server.url}/dashboard/sessions`)
      pages.push(page)
      if (i < MAX_STREAMS_PER_SESSION) await page.waitForSelector('body[data-live="on"]')
    }
    await pages[0]!.waitForSelector('body[data-live="closed"]')
    await pages.at(-1)!.waitForSelector('body[data-live="on"]')
    await context.close()
  })
})
