import { createHash, randomUUID } from 'node:crypto'
import { beforeEach, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { codeTextedTo, pairRemotely } from '../support/pairing.js'
import { useTestServer, useTwilioEndpoint, startTestServer } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'dashboard-http', pairingLimits: { perNumberPerMinute: 100, perNumberPerHour: 100, perIpPerHour: 1000 } }))
beforeEach(() => twilio.reset())

async function signedIn(phone = testPhone()) {
  const client = new DashboardClient(server.url)
  await client.signIn(phone, twilio)
  return client
}

const PAGES = ['/dashboard', '/dashboard/sessions', `/dashboard/sessions/${randomUUID()}`, '/dashboard/stats', '/dashboard/settings', '/dashboard/outbox', '/dashboard/anything']

describe('every dashboard page needs a signed-in session', () => {
  it('sends a visitor without a session to the sign-in page, and shows nothing else', async () => {
    const anonymous = new DashboardClient(server.url)
    for (const path of PAGES) {
      const res = await anonymous.get(path)
      expect(res.status, path).toBe(303)
      expect(res.headers.get('location'), path).toBe('/dashboard/login')
    }
    expect((await anonymous.get('/dashboard/live')).status).toBe(401)
  })

  it('refuses forms posted without a session, and a made-up cookie is no session', async () => {
    const forged = new DashboardClient(server.url)
    forged.cookies.set('sms_dashboard', 'x'.repeat(43))
    for (const path of ['/dashboard/sessions', '/dashboard/settings']) expect((await forged.get(path)).status).toBe(303)
    const res = await forged.post('/dashboard/settings', { csrf: 'whatever', quiet_start: '22:00', quiet_end: '07:00', time_zone: 'UTC', done_threshold_minutes: '0' })
    expect(res.status).toBe(401)
    expect((await forged.post('/dashboard/logout', { csrf: 'x' })).status).toBe(401)
  })

  it('serves the stylesheet to anyone', async () => {
    const res = await fetch(`${server.url}/dashboard/static/style.css`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/css')
    expect(await res.text()).toContain('.badge')
  })
})

describe('signing in with a texted code', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie (not Secure on plain-http loopback) whose value the database never holds', async () => {
    const client = new DashboardClient(server.url)
    const login = await client.get('/dashboard/login')
    const phone = testPhone()
    await client.post('/dashboard/login', { csrf: csrfOf(await login.text()), phone })
    const codePage = await client.get('/dashboard/login/code')
    const html = await codePage.text()
    expect(html).toContain(`+1***${phone.slice(-4)}`)
    expect(twilio.lastTo(phone)!.body).toMatch(/dashboard sign-in code is \d{6}/)
    const res = await client.post('/dashboard/login/code', { csrf: csrfOf(html), code: codeTextedTo(twilio, phone) })
    expect(res.status).toBe(303)
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('sms_dashboard='))!
    expect(setCookie).toMatch(/HttpOnly/i)
    expect(setCookie).toMatch(/SameSite=Lax/i)
    expect(setCookie).toMatch(/Path=\//)
    expect(setCookie).not.toMatch(/Secure/i)
    const value = client.cookies.get('sms_dashboard')!
    const rows = await db.sql`select token_hash from dashboard_sessions`
    expect(JSON.stringify(rows)).not.toContain(value)
    expect(rows.map((r) => r.token_hash)).toContain(createHash('sha256').update(value).digest('hex'))
    expect((await client.get('/dashboard/sessions')).status).toBe(200)
  })

  it('marks cookies Secure, with the __Host- prefix, when the public address is https', async () => {
    const https = await startTestServer({ sql: db.sql, twilio, name: 'dashboard-https', env: { PUBLIC_URL: 'https://sms.example.com' } })
    try {
      const client = new DashboardClient(https.url)
      const login = await client.get('/dashboard/login')
      const cookie = login.headers.getSetCookie()[0]!
      expect(cookie).toMatch(/^__Host-sms_dashboard_login=/)
      expect(cookie).toMatch(/; Secure/i)
      expect(cookie).toMatch(/HttpOnly/i)
    } finally {
      await https.close()
    }
  })

  it('allows five wrong codes, then the code is dead even when right', async () => {
    const client = new DashboardClient(server.url)
    const phone = testPhone()
    await client.post('/dashboard/login', { csrf: csrfOf(await (await client.get('/dashboard/login')).text()), phone })
    const right = codeTextedTo(twilio, phone)
    const wrong = right === '000000' ? '111111' : '000000'
    const pendingToken = client.cookies.get('sms_dashboard_code')!
    let csrf = csrfOf(await (await client.get('/dashboard/login/code')).text())
    for (let i = 1; i <= 4; i++) {
      const res = await client.post('/dashboard/login/code', { csrf, code: wrong })
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(`${5 - i} ${5 - i === 1 ? 'try' : 'tries'} left`)
    }
    const fifth = await client.post('/dashboard/login/code', { csrf, code: wrong })
    expect(fifth.status).toBe(303)
    expect(fifth.headers.get('location')).toBe('/dashboard/login?ended=1')
    csrf = csrfOf(await (await client.get('/dashboard/login')).text())
    expect(client.cookies.has('sms_dashboard_code')).toBe(false)
    client.cookies.set('sms_dashboard_code', pendingToken) // kept by someone guessing
    const late = await client.post('/dashboard/login/code', { csrf, code: right })
    expect(late.headers.get('location')).toBe('/dashboard/login?ended=1')
    expect((await client.get('/dashboard/sessions')).status).toBe(303)
  })

  it('does not open the dashboard with a code sent for pairing the plugin', async () => {
    const phone = testPhone()
    const loginRes = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone, state: 'state-12345678', mode: 'remote' }),
    })
    const { temp_token } = (await loginRes.json()) as { temp_token: string }
    const client = new DashboardClient(server.url)
    const csrf = csrfOf(await (await client.get('/dashboard/login')).text())
    client.cookies.set('sms_dashboard_code', temp_token)
    const res = await client.post('/dashboard/login/code', { csrf, code: codeTextedTo(twilio, phone) })
    expect(res.headers.get('location')).toBe('/dashboard/login?ended=1')
    expect((await client.get('/dashboard/sessions')).status).toBe(303)
  })

  it('sends no code for a sign-in form posted without its CSRF token (login CSRF)', async () => {
    const client = new DashboardClient(server.url)
    await client.get('/dashboard/login')
    const res = await client.post('/dashboard/login', { phone: testPhone() })
    expect(res.status).toBe(403)
    const other = new DashboardClient(server.url)
    const foreignToken = csrfOf(await (await other.get('/dashboard/login')).text())
    expect((await client.post('/dashboard/login', { csrf: foreignToken, phone: testPhone() })).status).toBe(403)
    expect(twilio.messages).toHaveLength(0)
  })

  it('shows the send limits of pairing on the page', async () => {
    const limited = await startTestServer({ sql: db.sql, twilio, name: 'dashboard-limits' })
    try {
      const client = new DashboardClient(limited.url)
      const phone = testPhone()
      const csrf = csrfOf(await (await client.get('/dashboard/login')).text())
      expect((await client.post('/dashboard/login', { csrf, phone })).status).toBe(303)
      const again = await client.post('/dashboard/login', { csrf, phone })
      expect(again.status).toBe(429)
      expect(again.headers.get('retry-after')).toMatch(/^\d+$/)
      expect(await again.text()).toContain('A code was sent to this number recently')
      expect(twilio.messages).toHaveLength(1)
    } finally {
      await limited.close()
    }
  })
})

describe('forms are protected against cross-site requests', () => {
  const settingsForm = { quiet_enabled: 'on', quiet_start: '22:00', quiet_end: '07:00', time_zone: 'UTC', done_threshold_minutes: '0', went_dark_alerts: 'on' }

  it('rejects a settings form without the token, with a wrong one, or with another session’s token, and changes nothing', async () => {
    const alice = await signedIn()
    const bob = await signedIn()
    const bobToken = csrfOf(await (await bob.get('/dashboard/settings')).text())
    for (const csrf of [undefined, 'wrong', bobToken]) {
      const res = await alice.post('/dashboard/settings', csrf === undefined ? settingsForm : { ...settingsForm, csrf })
      expect(res.status).toBe(403)
    }
    expect(await db.sql`select * from user_settings where quiet_hours_enabled`).toHaveLength(0)
    const aliceToken = csrfOf(await (await alice.get('/dashboard/settings')).text())
    const ok = await alice.post('/dashboard/settings', { ...settingsForm, csrf: aliceToken })
    expect(ok.status).toBe(303)
    expect(await db.sql`select * from user_settings where quiet_hours_enabled`).toHaveLength(1)
  })

  it('rejects a sign-out without the token: the session stays alive', async () => {
    const client = await signedIn()
    expect((await client.post('/dashboard/logout', {})).status).toBe(403)
    expect((await client.get('/dashboard/sessions')).status).toBe(200)
  })

  it('says which setting is wrong and keeps what was saved', async () => {
    const client = await signedIn()
    const csrf = csrfOf(await (await client.get('/dashboard/settings')).text())
    const res = await client.post('/dashboard/settings', { ...settingsForm, csrf, time_zone: 'Mars/Olympus' })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('Choose a time zone from the list.')
  })
})

describe('signing out', () => {
  it('kills the cookie on the server: the same value replayed later opens nothing', async () => {
    const client = await signedIn()
    const value = client.cookies.get('sms_dashboard')!
    const csrf = csrfOf(await (await client.get('/dashboard/sessions')).text())
    const res = await client.post('/dashboard/logout', { csrf })
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/dashboard/login?signed_out=1')
    expect(res.headers.getSetCookie().some((c) => c.startsWith('sms_dashboard=;'))).toBe(true)
    const replay = new DashboardClient(server.url)
    replay.cookies.set('sms_dashboard', value)
    expect((await replay.get('/dashboard/sessions')).status).toBe(303)
  })
})

describe('what the pages show', () => {
  it('escapes descriptions, errors and texts: nothing a session reports becomes markup', async () => {
    const phone = testPhone()
    const { accessToken } = await pairRemotely(server.url, twilio, phone)
    const [user] = await db.sql`select id from users where phone_e164 = ${phone}`
    const evil = `<script>window.__xss=1</script><img src=x onerror="alert(1)">`
    const s = await monitoredSession(server, db.sql, { user: { userId: user!.id as string, phone, accessToken }, description: `Fix ${evil}`, project: `p${evil}` })
    expect((await sendEvent(server, s, { event_type: 'error', details: { tool_name: `Bash${evil}`, error: `Exit code 1\n${evil}` } })).status).toBe(200)
    const client = await signedIn(phone)
    for (const path of ['/dashboard/sessions', `/dashboard/sessions/${s.id}`]) {
      const html = await (await client.get(path)).text()
      expect(html, path).not.toContain('<script>window.__xss')
      expect(html, path).not.toContain('<img src=x')
      expect(html, path).toContain('&lt;script&gt;window.__xss=1&lt;/script&gt;')
    }
  })

  it('shows each event’s fate and each text’s delivery status, with Twilio’s error in words', async () => {
    const phone = testPhone()
    const { accessToken } = await pairRemotely(server.url, twilio, phone)
    const [user] = await db.sql`select id from users where phone_e164 = ${phone}`
    const s = await monitoredSession(server, db.sql, { user: { userId: user!.id as string, phone, accessToken }, description: 'Nightly build' })
    const first = await sendEvent(server, s, { event_type: 'error', details: { error: 'tests failed' } })
    expect(first.status).toBe(200)
    const second = await sendEvent(server, s, { event_type: 'error', details: { error: 'again' } })
    expect(second.status).toBe(429)
    const sid = twilio.lastTo(phone)!.sid
    expect((await twilio.postStatus(sid, 'undelivered', { errorCode: 30003 })).status).toBe(204)

    const client = await signedIn(phone)
    const html = await (await client.get(`/dashboard/sessions/${s.id}`)).text()
    expect(html).toContain('texted')
    expect(html).toContain('held by the rate limit')
    expect(html).toContain('data-text-status="undelivered"')
    expect(html).toContain('phone off or out of coverage (error 30003)')
    const list = await (await client.get('/dashboard/sessions')).text()
    expect(list).toContain('Nightly build')
    expect(list).toMatch(/data-texts>1</)

    // Another user's session is not found, not shown
    const stranger = await signedIn()
    expect((await stranger.get(`/dashboard/sessions/${s.id}`)).status).toBe(404)
  })

  it('counts sessions, texts and this month’s segments and cost', async () => {
    const phone = testPhone()
    const { accessToken } = await pairRemotely(server.url, twilio, phone)
    const [user] = await db.sql`select id from users where phone_e164 = ${phone}`
    const s = await monitoredSession(server, db.sql, { user: { userId: user!.id as string, phone, accessToken } })
    await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    await sendEvent(server, s, { event_type: 'done', details: {} })
    await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'session_end' } })
    const [{ segments }] = (await db.sql`select sum(segments)::int as segments from sms_messages where user_id = ${user!.id as string}`) as unknown as [{ segments: number }]
    const client = await signedIn(phone)
    const html = await (await client.get('/dashboard/stats')).text()
    expect(html).toMatch(/data-stat="sessions"><b>1</)
    expect(html).toMatch(/data-stat="texts"><b>2</)
    expect(html).toMatch(new RegExp(`data-stat="month-segments"><b>${segments}<`))
    expect(html).toContain(`$${(segments * 0.0083).toFixed(4)}`)
  })

  it('has no outbox when texts really go out through Twilio', async () => {
    const client = await signedIn()
    expect((await client.get('/dashboard/outbox')).status).toBe(404)
    expect(await (await client.get('/dashboard/sessions')).text()).not.toContain('href="/dashboard/outbox"')
  })
})
