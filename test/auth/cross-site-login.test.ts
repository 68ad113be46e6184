import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { crossSiteRequest, ownOrigins } from '../../server/http/cross-site.js'
import { launchBrowser, type TestBrowser } from '../support/browser.js'
import { useTestDatabase } from '../support/db.js'
import { postJson } from '../support/pairing.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'auth-cross-site-login' }))
beforeEach(() => {
  twilio.reset()
  clock.advance(120_000)
})

const CALLBACK = 'http://127.0.0.1:4000/callback'

function postForm(headers: Record<string, string>, phone = testPhone()) {
  return fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ phone, state: 'cross-site-state', callback_uri: CALLBACK }),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  })
}

describe('POST /login from another site is refused, and nobody is texted', () => {
  const foreign: [string, Record<string, string>][] = [
    ['an Origin of another site', { origin: 'https://evil.example' }],
    ['Sec-Fetch-Site: cross-site (no Origin)', { 'sec-fetch-site': 'cross-site' }],
    ['another port of the same host (Sec-Fetch-Site: same-site)', { origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' }],
    ['Origin: null (a sandboxed frame or a data: page)', { origin: 'null' }],
  ]
  for (const [what, headers] of foreign) {
    it(`the form, with ${what}: 403 page`, async () => {
      const res = await postForm(headers)
      expect(res.status).toBe(403)
      expect(res.headers.get('location')).toBeNull()
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const html = await res.text()
      expect(html).toContain('data-error="forbidden"')
      expect(html).toContain('came from another website')
      expect(twilio.attempts).toBe(0)
    })
  }

  it('remote mode (JSON) with a foreign Origin: 403 with the JSON error body', async () => {
    const res = await postJson(`${server.url}/login`, { phone: testPhone(), state: 'cross-site-state', mode: 'remote' }, { origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    const body = ErrorBody.parse(await res.json())
    expect(body.error).toBe('forbidden')
    expect(twilio.attempts).toBe(0)
  })
})

describe('the server’s own callers still get codes', () => {
  it('remote mode without Origin (the plugin over SSH) is texted', async () => {
    const phone = testPhone()
    const res = await postJson(`${server.url}/login`, { phone, state: 'cross-site-state', mode: 'remote' })
    expect(res.status).toBe(200)
    expect(twilio.lastTo(phone)).toBeDefined()
  })

  it('the login page’s own form (Origin of PUBLIC_URL, Sec-Fetch-Site: same-origin) is texted', async () => {
    const res = await postForm({ origin: new URL(server.url).origin, 'sec-fetch-site': 'same-origin' })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:4000\/callback\?temp_token=/)
    expect(twilio.messages).toHaveLength(1)
  })

  it('on a server of this computer, the page opened as http://localhost:<port> works too', async () => {
    const res = await postForm({ origin: `http://localhost:${new URL(server.url).port}`, 'sec-fetch-site': 'same-origin' })
    expect(res.status).toBe(303)
  })

  it('origins of a public server (pure): only PUBLIC_URL’s', () => {
    const origins = ownOrigins('https://sms.example.com/')
    expect([...origins]).toEqual(['https://sms.example.com'])
    expect(crossSiteRequest({ origin: 'https://sms.example.com', secFetchSite: 'same-origin' }, origins)).toBe(false)
    expect(crossSiteRequest({ origin: 'http://localhost:8787' }, origins)).toBe(true)
    expect(crossSiteRequest({ origin: 'https://sms.example.com.evil.example' }, origins)).toBe(true)
    expect(crossSiteRequest({}, origins)).toBe(false)
  })
})

describe('in a real browser: a page of another site that posts the login form', () => {
  let browser: TestBrowser
  let attacker: Server
  let attackerUrl: string

  beforeAll(async () => {
    browser = await launchBrowser()
    // The other site: a page whose form posts a number of its choosing to this server's /login.
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>Win a prize</title>
<form method="post" action="${server.url}/login">
<input type="hidden" name="phone" value="+14155550199">
<input type="hidden" name="state" value="attacker-state">
<input type="hidden" name="callback_uri" value="${CALLBACK}">
<button>Claim your prize</button>
</form>`)
    })
    attacker.listen(0, '127.0.0.1')
    await once(attacker, 'listening')
    // localhost is another site than 127.0.0.1 (the server's PUBLIC_URL here).
    attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`
  })
  afterAll(async () => {
    await browser?.close()
    attacker?.closeAllConnections()
    await new Promise((r) => attacker?.close(r))
  })

  it('the visitor lands on a refusal and no code is texted', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(attackerUrl)
    const [response] = await Promise.all([page.waitForResponse(`${server.url}/login`), page.getByRole('button', { name: 'Claim your prize' }).click()])
    expect(response.status()).toBe(403)
    await page.waitForLoadState()
    expect(await page.getByRole('alert').textContent()).toMatch(/came from another website/)
    expect(twilio.attempts).toBe(0)
    await context.close()
  })
})
