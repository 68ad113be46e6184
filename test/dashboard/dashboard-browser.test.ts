import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLoginCallback } from '../../mcp/login-callback.js'
import { createMcpLogger } from '../../mcp/log.js'
import { manualClock } from '../../server/clock.js'
import { DESKTOP_VIEWPORT, launchBrowser, PHONE_VIEWPORT, SCREENSHOT_DIR, type TestBrowser } from '../support/browser.js'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent, type MonitoredSession } from '../support/monitoring.js'
import { codeTextedTo } from '../support/pairing.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
// Today at 23:30 UTC: the quiet hours set below (22:00-07:00 UTC) cover it. Kept near the real date so
// the browser does not drop the session cookie as expired.
const today = new Date()
const clock = manualClock(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 23, 30)))
let twilio: TwilioEndpoint
let server: TestServer
let browser: TestBrowser

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  server = await startTestServer({ sql: db.sql, twilio, clock, name: 'dashboard-browser' })
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await server?.close()
  await twilio?.close()
})

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true })

/**
 * Everything a page would put in the browser's console as a problem: console errors (CSP violations
 * included), uncaught exceptions, and failed or 4xx/5xx requests (a missing favicon among them).
 */
function watchConsole(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()} (${page.url()})`)
  })
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message} (${page.url()})`))
  page.on('requestfailed', (r) => {
    // Leaving a live page aborts its event stream: that is navigation, not a failure.
    if (!r.url().endsWith('/dashboard/live')) problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`)
  })
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`)
  })
  return problems
}

/** Signs in through the pages, reading the code from the text the Twilio endpoint received. */
async function signIn(page: Page, phone: string) {
  await page.goto(`${server.url}/dashboard`)
  expect(new URL(page.url()).pathname).toBe('/dashboard/login')
  await page.fill('#phone', phone)
  const sent = twilio.messages.length
  await page.click('button[type=submit]')
  await page.waitForURL('**/dashboard/login/code')
  await twilio.waitForMessages(sent + 1)
  await page.fill('#code', codeTextedTo(twilio, phone))
  await page.click('button[type=submit]')
  await page.waitForURL('**/dashboard/sessions')
}

describe('the dashboard in a real browser', () => {
  const phone = testPhone()
  let context: BrowserContext
  let page: Page
  let session: MonitoredSession
  let consoleProblems: string[] = []

  beforeAll(async () => {
    session = await monitoredSession(server, db.sql, { phone, description: 'Refactor the billing module', project: 'billing-api' })
    context = await browser.newContext(PHONE_VIEWPORT)
    page = await context.newPage()
    page.setDefaultTimeout(10_000)
    consoleProblems = watchConsole(page)
  })
  afterAll(() => context?.close())

  it('signs in with the code texted to the phone, and the login page fits a phone', async () => {
    await page.goto(`${server.url}/dashboard/login`)
    await shot(page, 'dashboard-login-phone')
    await signIn(page, phone)
    expect(await page.textContent('h1')).toBe('Sessions')
    expect(await page.textContent('tbody')).toContain('Refactor the billing module')
  })

  it('updates the sessions page live, without a reload, on an event, a new session and a heartbeat', async () => {
    await page.waitForSelector('body[data-live="on"]')
    const row = `tr[data-session-id="${session.id}"]`
    expect(await page.getAttribute(`${row} .badge`, 'data-status')).toBe('live')
    let loads = 0
    page.on('load', () => loads++)

    expect((await sendEvent(server, session, { event_type: 'waiting', details: { message: 'May I run the migration?' } })).status).toBe(200)
    await page.waitForSelector(`${row} [data-status="waiting"]`)
    await page.waitForSelector(`${row} td[data-texts]:text-is("1")`)

    const second = await monitoredSession(server, db.sql, {
      user: { userId: session.userId, phone, accessToken: session.accessToken },
      description: 'Write the release notes',
    })
    await page.waitForSelector(`tr[data-session-id="${second.id}"]`)
    // A session that has sent no heartbeat yet says so, rather than a time.
    expect(await page.textContent(`tr[data-session-id="${second.id}"] td[data-label="Last heartbeat"]`)).toBe('none yet')

    // A heartbeat with activity after the question: the user answered, so the session is live again.
    clock.advance(60_000)
    const beat = await api(server.url, 'POST', `/sessions/${session.id}/heartbeat`, { token: session.token, body: { timestamp: clock.now().toISOString(), last_activity: clock.now().toISOString() } })
    expect(beat.status).toBe(200)
    await page.waitForSelector(`${row} [data-status="live"]`)
    expect(await page.textContent(`${row} td[data-label="Last heartbeat"]`)).toBe('just now')
    expect(loads).toBe(0)

    await sendEvent(server, second, { event_type: 'error', details: { tool_name: 'Bash', error: 'Exit code 1\nnpm ERR! missing script: release' } })
    await page.waitForSelector(`tr[data-session-id="${second.id}"] td[data-texts]:text-is("1")`)
    await shot(page, 'dashboard-sessions-phone')
    await page.setViewportSize(DESKTOP_VIEWPORT)
    await shot(page, 'dashboard-sessions-desktop')
    await page.setViewportSize(PHONE_VIEWPORT)
  })

  it('shows a session’s timeline with each text’s delivery status, live', async () => {
    await page.click(`a[href="/dashboard/sessions/${session.id}"]`)
    await page.waitForSelector('body[data-live="on"]')
    expect(await page.textContent('ol.timeline')).toContain('May I run the migration?')
    const question = twilio.messages.find((m) => m.to === phone && m.body.includes('May I run the migration'))!
    await twilio.postStatus(question.sid, 'delivered')
    await page.waitForSelector('[data-text-status="delivered"]')
    await sendEvent(server, session, { event_type: 'waiting', details: { message: 'Still there?' } })
    await page.waitForSelector('li[data-outcome="rate_limited"]')
    expect(await page.textContent('li[data-outcome="rate_limited"]')).toContain('held by the rate limit')
    // At 390 px each fact of a text (status, "1 segment", its time) stays on one line.
    const facts = await page.$$eval('.text-facts > *', (els) => els.map((el) => ({ text: el.textContent, lines: el.getClientRects().length, height: el.getBoundingClientRect().height, lineHeight: parseFloat(getComputedStyle(el).lineHeight) || 20 })))
    expect(facts.some((f) => /^\d+ segments?$/.test(f.text ?? ''))).toBe(true)
    for (const f of facts) expect(f.height, `"${f.text}" wraps`).toBeLessThan(f.lineHeight * 1.6)
    await shot(page, 'dashboard-session-phone')
    await page.setViewportSize(DESKTOP_VIEWPORT)
    await shot(page, 'dashboard-session-desktop')
    await page.setViewportSize(PHONE_VIEWPORT)
  })

  it('applies saved settings to the next event: quiet hours covering now hold it instead of texting it', async () => {
    await page.click('nav a[href="/dashboard/settings"]')
    await page.check('#quiet_enabled')
    await page.fill('#quiet_start', '22:00')
    await page.fill('#quiet_end', '07:00')
    await page.selectOption('#time_zone', 'UTC')
    await page.click('button:text("Save settings")')
    await page.waitForSelector('.notice:text("Saved")')
    expect(await page.isChecked('#quiet_enabled')).toBe(true)
    await shot(page, 'dashboard-settings-phone')

    await page.goto(`${server.url}/dashboard/sessions/${session.id}`)
    await page.waitForSelector('body[data-live="on"]')
    const texts = twilio.messages.length
    const held = await sendEvent(server, session, { event_type: 'error', details: { error: 'disk full' } })
    expect(held.body).toMatchObject({ sms_sent: false, reason: 'quiet_hours' })
    await page.waitForSelector('li[data-outcome="quiet_hours"]')
    expect(await page.textContent('li[data-outcome="quiet_hours"]')).toContain('held: quiet hours')
    expect(twilio.messages).toHaveLength(texts)
  })

  it('shows the stats on a desktop', async () => {
    const desktop = await browser.newContext(DESKTOP_VIEWPORT)
    await desktop.addCookies(await context.cookies())
    const p = await desktop.newPage()
    await p.goto(`${server.url}/dashboard/stats`)
    expect(await p.textContent('[data-stat="sessions"] b')).toBe('2')
    await shot(p, 'dashboard-stats-desktop')
    await desktop.close()
  })

  it('never runs markup that a session reports', async () => {
    const evil = await monitoredSession(server, db.sql, {
      user: { userId: session.userId, phone, accessToken: session.accessToken },
      description: '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>',
    })
    await page.goto(`${server.url}/dashboard/sessions/${evil.id}`)
    expect(await page.textContent('h1')).toBe('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>')
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined()
  })

  it('leaves nothing in the browser console on any page it showed', () => {
    expect(consoleProblems).toEqual([])
  })

  it('signs out: the cookie is dead afterwards, even replayed', async () => {
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'sms_dashboard')
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Lax')
    await page.goto(`${server.url}/dashboard/sessions`)
    await page.click('button:text("Sign out")')
    await page.waitForURL('**/dashboard/login?signed_out=1')
    expect(await page.textContent('.notice')).toContain('signed out')
    await context.addCookies([cookie!])
    await page.goto(`${server.url}/dashboard/sessions`)
    expect(new URL(page.url()).pathname).toBe('/dashboard/login')
  })
})

describe('the pairing pages in a real browser', () => {
  it("share the dashboard's brand and colours, fit a phone and a desktop, and leave the console clean", async () => {
    const callback = await startLoginCallback({ state: 'state-look-1234', ttlMs: 60_000, log: createMcpLogger('silent') })
    const context = await browser.newContext(PHONE_VIEWPORT)
    try {
      const page = await context.newPage()
      page.setDefaultTimeout(10_000)
      const problems = watchConsole(page)
      const look = () =>
        page.evaluate(() => {
          const brand = document.querySelector('.brand')
          const button = document.querySelector('button')
          return {
            brand: brand?.textContent,
            brandAccent: brand?.querySelector('span') ? getComputedStyle(brand.querySelector('span')!).color : null,
            button: button ? getComputedStyle(button).backgroundColor : null,
            background: getComputedStyle(document.body).backgroundColor,
            icon: document.querySelector('link[rel=icon]')?.getAttribute('href')?.slice(0, 18),
            overflows: document.documentElement.scrollWidth > window.innerWidth,
          }
        })

      await page.goto(`${server.url}/dashboard/login`)
      const dashboard = await look()

      const phone = testPhone()
      await page.goto(`${server.url}/login?src=claude&callback_uri=${encodeURIComponent(callback.callbackUri)}&state=state-look-1234`)
      const signIn = await look()
      expect(signIn).toMatchObject({ brand: 'Claude SMS', brandAccent: dashboard.brandAccent, button: dashboard.button, background: dashboard.background, icon: 'data:image/svg+xml', overflows: false })
      await shot(page, 'pairing-sign-in-phone')
      await page.setViewportSize(DESKTOP_VIEWPORT)
      await shot(page, 'pairing-sign-in-desktop')
      await page.setViewportSize(PHONE_VIEWPORT)

      // The real form: the server texts a code and sends the browser to the plugin's loopback page.
      await page.fill('#phone', phone)
      await page.click('button[type=submit]')
      await page.waitForURL(`${callback.callbackUri}**`)
      expect(await page.textContent('h1')).toBe('Check your phone')
      expect(await page.textContent('main')).toContain('/sms-notifier:sms-pair <code>')
      const loopback = await look()
      expect(loopback).toMatchObject({ brand: 'Claude SMS', brandAccent: dashboard.brandAccent, background: dashboard.background, icon: 'data:image/svg+xml', overflows: false })
      await shot(page, 'pairing-check-your-phone-phone')
      await page.setViewportSize(DESKTOP_VIEWPORT)
      await shot(page, 'pairing-check-your-phone-desktop')
      codeTextedTo(twilio, phone)

      expect(problems).toEqual([])
    } finally {
      callback.close()
      await context.close()
    }
  })
})
