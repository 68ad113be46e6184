import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { codeTextedTo, postJson } from '../support/pairing.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'auth-login-page' }))
beforeEach(() => twilio.reset())

const loginUrl = (params: Record<string, string>) => `${server.url}/login?${new URLSearchParams(params)}`

describe('GET /login', () => {
  it('serves an HTML page with a labelled phone field that posts back with the state and callback', async () => {
    const res = await fetch(loginUrl({ src: 'claude', callback_uri: 'http://127.0.0.1:53682/callback', state: 'abc12345-state' }))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('content-security-policy')).toContain("form-action 'self' http://127.0.0.1:53682")
    const html = await res.text()
    expect(html).toContain('<html lang="en">')
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">')
    expect(html).toMatch(/<form method="post" action="\/login">/)
    expect(html).toContain('<label for="phone">')
    expect(html).toMatch(/<input type="tel" id="phone" name="phone" autocomplete="tel"[^>]* required/)
    expect(html).toContain('<input type="hidden" name="state" value="abc12345-state">')
    expect(html).toContain('<input type="hidden" name="callback_uri" value="http://127.0.0.1:53682/callback">')
    expect(html).not.toContain('<script')
  })

  it('escapes what it echoes', async () => {
    const res = await fetch(loginUrl({ callback_uri: 'http://localhost:9/cb?a="><script>alert(1)</script>', state: '"><img src=x onerror=alert(1)>' }))
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).not.toContain('<script>alert(1)')
    expect(html).not.toContain('<img src=x')
    expect(html).toContain('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"')
  })

  const refused = [
    'http://evil.example/',
    'https://127.0.0.1.evil.com/',
    'https://127.0.0.1:8080/cb',
    'http://127.0.0.1.evil.com/cb',
    'http://localhost.evil.com/cb',
    'http://localhost@evil.example/cb',
    'http://127.0.0.1:80@evil.example/',
    'http://user:pass@127.0.0.1:4000/cb',
    'http://127.0.0.1:4000/cb#fragment',
    'javascript:alert(1)',
    'data:text/html,hi',
    '//127.0.0.1:4000/cb',
    'http://[::2]:4000/cb',
    'http://[::ffff:7f00:1]:4000/cb',
    'https://[::1]:4000/cb',
    'http://[::1]@evil.example/',
    '/cb',
    '',
  ]
  for (const callback of refused) {
    it(`answers callback_uri ${JSON.stringify(callback)} with a 400 page, never a redirect`, async () => {
      const res = await fetch(loginUrl({ callback_uri: callback, state: 'abc12345-state' }), { redirect: 'manual' })
      expect(res.status).toBe(400)
      expect(res.headers.get('location')).toBeNull()
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
      const html = await res.text()
      expect(html).toContain('data-error="invalid_request"')
      expect(html).not.toContain('<form')
    })
  }

  it('accepts localhost, 127.0.0.1 and [::1] (RFC 8252 §7.3) on any port, with or without a path', async () => {
    for (const callback of ['http://localhost:1/', 'http://127.0.0.1:65535/oauth/callback?x=1', 'http://127.0.0.1/cb', 'http://[::1]:4000/callback', 'http://[0:0:0:0:0:0:0:1]:4000/cb', 'http://[::1]/']) {
      expect((await fetch(loginUrl({ callback_uri: callback, state: 'abc12345-state' }))).status).toBe(200)
    }
  })

  it('a missing state or callback_uri is a 400 page', async () => {
    const incomplete: Record<string, string>[] = [{ callback_uri: 'http://127.0.0.1:4000/cb' }, { state: 'abc12345-state' }, {}]
    for (const params of incomplete) {
      const res = await fetch(loginUrl(params))
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    }
  })

  it('other methods are 405', async () => {
    const res = await fetch(`${server.url}/login`, { method: 'PUT' })
    expect(res.status).toBe(405)
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST')
  })
})

describe('in a real browser without JavaScript', () => {
  let browser: Browser
  let callbackServer: Server
  let callbackUrl: string
  const received: URL[] = []

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] })
    // Stands in for the plugin's loopback listener.
    callbackServer = createServer((req, res) => {
      received.push(new URL(req.url!, 'http://127.0.0.1'))
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>Now type the code in Claude Code.</p>')
    })
    callbackServer.listen(0, '127.0.0.1')
    await once(callbackServer, 'listening')
    callbackUrl = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`
  })
  afterAll(async () => {
    await browser?.close()
    callbackServer?.closeAllConnections()
    await new Promise((r) => callbackServer?.close(r))
  })

  it('a person types their number, the browser lands on the plugin callback, and the texted code pairs', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 }, isMobile: true })
    const page = await context.newPage()
    await page.goto(loginUrl({ src: 'claude', callback_uri: callbackUrl, state: 'browser-state-42' }))
    await page.getByLabel('Mobile number').fill('(415) 555-2671')
    await Promise.all([page.waitForURL(`${callbackUrl}?**`), page.getByRole('button', { name: 'Text me a code' }).click()])
    expect(await page.textContent('p')).toBe('Now type the code in Claude Code.')
    const landed = received.filter((u) => u.pathname === '/callback').at(-1)!
    expect(landed.searchParams.get('state')).toBe('browser-state-42')
    expect(landed.searchParams.get('phone')).toBe('+1***2671')
    const res = await postJson(`${server.url}/auth/exchange`, { temp_token: landed.searchParams.get('temp_token'), pairing_code: codeTextedTo(twilio, '+14155552671') })
    expect(res.status).toBe(200)
    await context.close()
  })

  it('a mistyped number shows the problem on the page, announced to screen readers', async () => {
    clock.advance(120_000)
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    await page.goto(loginUrl({ callback_uri: callbackUrl, state: 'browser-state-43' }))
    await page.getByLabel('Mobile number').fill('555-12')
    await page.getByRole('button', { name: 'Text me a code' }).click()
    await page.waitForLoadState()
    expect(await page.getByRole('alert').textContent()).toMatch(/does not look like a valid phone number/)
    expect(await page.getByLabel('Mobile number').getAttribute('aria-invalid')).toBe('true')
    expect(twilio.messages).toHaveLength(0)
    await context.close()
  })

  it('texts only the number typed', async () => {
    clock.advance(120_000)
    const phone = testPhone()
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    await page.goto(loginUrl({ callback_uri: callbackUrl, state: 'browser-state-44' }))
    await page.getByLabel('Mobile number').fill(phone)
    await Promise.all([page.waitForURL(`${callbackUrl}?**`), page.getByRole('button', { name: 'Text me a code' }).click()])
    expect(twilio.messages.map((m) => m.to)).toEqual([phone])
    await context.close()
  })
})
