import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ErrorBody, ExchangeResponse, RemoteLoginResponse } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { hashTempToken } from '../../server/pairing/codes.js'
import { useTestDatabase } from '../support/db.js'
import { codeTextedTo, pairRemotely, postJson } from '../support/pairing.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { pairedUser, testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
let twilio: TwilioEndpoint
let server: TestServer

// Every test asks for codes from an address of its own, so the per-address send limit (10 an hour)
// only comes into play where a test means it to.
let ipCounter = 0
const fromNewAddress = () => ({ 'x-forwarded-for': `198.51.100.${++ipCounter}` })

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  server = await startTestServer({ sql: db.sql, twilio, clock, name: 'auth-pairing' })
})
afterAll(async () => {
  await server.close()
  await twilio.close()
})
beforeEach(() => twilio.reset())

async function startRemote(phone: string, headers = fromNewAddress()) {
  const res = await postJson(`${server.url}/login`, { phone, state: 'remote-state-1', mode: 'remote' }, headers)
  expect(res.status, await res.clone().text()).toBe(200)
  return RemoteLoginResponse.parse(await res.json())
}

const exchange = (body: unknown) => postJson(`${server.url}/auth/exchange`, body, fromNewAddress())

async function errorOf(res: Response) {
  return ErrorBody.parse(await res.json())
}

describe('pairing without a browser (remote mode)', () => {
  it('texts a 6-digit code that, typed back, gives a 36-hour access token', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    expect(started.phone).toBe(`+1***${phone.slice(-4)}`)
    expect(started.expires_in).toBe(600)
    expect(started.temp_token).toMatch(/^[\w-]{43}$/)

    const [text] = twilio.messages
    expect(text!.to).toBe(phone)
    expect(text!.body).toMatch(/^Your claude-sms-notifier code is \d{6}\. It expires in 10 minutes\. Don't share it\.$/)

    const res = await exchange({ temp_token: started.temp_token, pairing_code: codeTextedTo(twilio, phone), device_fingerprint: 'laptop-1' })
    expect(res.status).toBe(200)
    const paired = ExchangeResponse.parse(await res.json())
    expect(paired.token_type).toBe('Bearer')
    expect(paired.expires_in).toBe(129_600)
    expect(new Date(paired.expires_at).getTime()).toBe(clock.now().getTime() + 129_600_000)
    expect(paired.phone).toBe(started.phone)

    const [token] = await db.sql`select t.device_fingerprint, u.phone_masked from access_tokens t join users u on u.id = t.user_id where u.phone_e164 = ${phone}`
    expect(token).toEqual({ device_fingerprint: 'laptop-1', phone_masked: started.phone })
  })

  it('keeps neither the code nor the temp token in the database or the log', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const code = codeTextedTo(twilio, phone)
    const [stored] = await db.sql`select body, kind from sms_messages where to_hash is not null order by created_at desc limit 1`
    expect(stored).toEqual({ kind: 'pairing_code', body: "Your claude-sms-notifier code is ******. It expires in 10 minutes. Don't share it." })
    const dump = JSON.stringify(await db.sql`select * from pairing_requests`)
    expect(dump).not.toContain(started.temp_token)
    expect(dump).not.toContain(`"${code}"`)
    await exchange({ temp_token: started.temp_token, pairing_code: code })
    const log = server.logs.lines.join('\n')
    expect(log).not.toContain(started.temp_token)
    expect(log).not.toContain(phone)
    expect(log).not.toMatch(new RegExp(`\\b${code}\\b`))
  })

  it('answers a known number exactly as an unknown one', async () => {
    const known = await pairedUser(db.sql, server.config)
    const unknown = testPhone()
    const answers = []
    for (const phone of [known.user.phoneE164, unknown]) {
      const res = await postJson(`${server.url}/login`, { phone, state: 'remote-state-1', mode: 'remote' }, fromNewAddress())
      answers.push({ status: res.status, keys: Object.keys(await res.json()).sort(), headers: [...res.headers.keys()].filter((k) => k !== 'date' && k !== 'x-request-id').sort() })
    }
    expect(answers[0]).toEqual(answers[1])
  })
})

describe('pairing from the browser page', () => {
  it('sends the code, then 303s to the loopback callback with the temp token, the masked number and the same state', async () => {
    const phone = '(415) 555-2671'
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...fromNewAddress() },
      body: new URLSearchParams({ phone, state: 'st4te-from-plugin', callback_uri: 'http://127.0.0.1:53682/callback?x=1', src: 'claude' }),
      redirect: 'manual',
    })
    expect(res.status).toBe(303)
    const location = new URL(res.headers.get('location')!)
    expect(location.origin + location.pathname).toBe('http://127.0.0.1:53682/callback')
    expect(location.searchParams.get('x')).toBe('1')
    expect(location.searchParams.get('state')).toBe('st4te-from-plugin')
    expect(location.searchParams.get('phone')).toBe('+1***2671')
    const tempToken = location.searchParams.get('temp_token')!
    expect(twilio.lastTo('+14155552671')).toBeDefined()

    const paired = await exchange({ temp_token: tempToken, pairing_code: codeTextedTo(twilio, '+14155552671') })
    expect(paired.status).toBe(200)
  })

  it('shows the form again with the problem when the number is not valid, and never redirects', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...fromNewAddress() },
      body: new URLSearchParams({ phone: '555-12', state: 'st4te-from-plugin', callback_uri: 'http://localhost:4000/cb' }),
      redirect: 'manual',
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).toContain('data-error="invalid_request"')
    expect(html).toContain('not look like a valid phone number')
    expect(html).toContain('value="555-12"')
    expect(html).toContain('aria-invalid="true"')
    expect(twilio.messages).toHaveLength(0)
  })

  it('refuses a form whose callback_uri is not loopback with a 400 page, without texting', async () => {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...fromNewAddress() },
      body: new URLSearchParams({ phone: testPhone(), state: 'st4te-from-plugin', callback_uri: 'http://evil.example/cb' }),
      redirect: 'manual',
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('location')).toBeNull()
    expect(await res.text()).toContain('cannot be used')
    expect(twilio.messages).toHaveLength(0)
  })
})

describe('typing the code', () => {
  it('a wrong code is 400 invalid_pairing_code and says how many tries are left; the right one still works', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const code = codeTextedTo(twilio, phone)
    const wrong = code === '000000' ? '000001' : '000000'
    const res = await exchange({ temp_token: started.temp_token, pairing_code: wrong })
    expect(res.status).toBe(400)
    const body = await errorOf(res)
    expect(body.error).toBe('invalid_pairing_code')
    expect(body.details).toEqual({ attempts_remaining: 4 })
    expect((await exchange({ temp_token: started.temp_token, pairing_code: code })).status).toBe(200)
  })

  it('the 5th wrong code ends the pairing: 401 token_expired, and the right code no longer works', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const code = codeTextedTo(twilio, phone)
    const wrong = (n: number) => String((Number(code) + n) % 1_000_000).padStart(6, '0')
    const statuses = []
    for (let i = 1; i <= 5; i++) statuses.push((await exchange({ temp_token: started.temp_token, pairing_code: wrong(i) })).status)
    expect(statuses).toEqual([400, 400, 400, 400, 401])
    const after = await exchange({ temp_token: started.temp_token, pairing_code: code })
    expect(after.status).toBe(401)
    expect((await errorOf(after)).error).toBe('token_expired')
  })

  it('20 wrong guesses at once use at most 5 tries and leave the temp token void', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const code = codeTextedTo(twilio, phone)
    const guesses = Array.from({ length: 20 }, (_, i) => String((Number(code) + i + 1) % 1_000_000).padStart(6, '0'))
    const answers = await Promise.all(guesses.map((g) => exchange({ temp_token: started.temp_token, pairing_code: g })))
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses.filter((s) => s === 400)).toHaveLength(4)
    expect(statuses.filter((s) => s === 401)).toHaveLength(16)
    const [row] = await db.sql`select attempts from pairing_requests where temp_token_hash = ${hashTempToken(started.temp_token)}`
    expect(row!.attempts).toBe(5)
    expect((await exchange({ temp_token: started.temp_token, pairing_code: code })).status).toBe(401)
  })

  it('a code is good for 10 minutes: at 10 minutes the temp token is 401 token_expired', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const code = codeTextedTo(twilio, phone)
    clock.advance(600_000)
    try {
      const res = await exchange({ temp_token: started.temp_token, pairing_code: code })
      expect(res.status).toBe(401)
      expect((await errorOf(res)).error).toBe('token_expired')
    } finally {
      clock.advance(3_600_000)
    }
  })

  it('works just before the 10 minutes are up', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    clock.advance(599_000)
    try {
      expect((await exchange({ temp_token: started.temp_token, pairing_code: codeTextedTo(twilio, phone) })).status).toBe(200)
    } finally {
      clock.advance(3_600_000)
    }
  })

  it('a code works once: replaying it is 401 token_expired', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const body = { temp_token: started.temp_token, pairing_code: codeTextedTo(twilio, phone) }
    expect((await exchange(body)).status).toBe(200)
    const replay = await exchange(body)
    expect(replay.status).toBe(401)
    expect((await errorOf(replay)).error).toBe('token_expired')
    const [{ count }] = (await db.sql`select count(*)::int as count from access_tokens t join users u on u.id = t.user_id where u.phone_e164 = ${phone}`) as unknown as [{ count: number }]
    expect(count).toBe(1)
  })

  it('the right code sent twice at once pairs only once', async () => {
    const phone = testPhone()
    const started = await startRemote(phone)
    const body = { temp_token: started.temp_token, pairing_code: codeTextedTo(twilio, phone) }
    const statuses = (await Promise.all(Array.from({ length: 5 }, () => exchange(body)))).map((r) => r.status).sort()
    expect(statuses).toEqual([200, 401, 401, 401, 401])
  })

  it('a temp token never issued is 401 unauthorized', async () => {
    const res = await exchange({ temp_token: 'A'.repeat(43), pairing_code: '123456' })
    expect(res.status).toBe(401)
    expect((await errorOf(res)).error).toBe('unauthorized')
  })
})

describe('bad input gets a 4xx with the error code, never a 500', () => {
  const cases: { name: string; path: string; body: unknown; contentType?: string; status: number; error: string }[] = [
    { name: 'login: no phone', path: '/login', body: { state: 'remote-state-1', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: no state', path: '/login', body: { phone: '+14155550123', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: short state', path: '/login', body: { phone: '+14155550123', state: 'x', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: JSON without mode remote', path: '/login', body: { phone: '+14155550123', state: 'remote-state-1' }, status: 400, error: 'invalid_request' },
    { name: 'login: phone not a string', path: '/login', body: { phone: 4155550123, state: 'remote-state-1', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: not a phone number', path: '/login', body: { phone: 'call me maybe', state: 'remote-state-1', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: number with an extension', path: '/login', body: { phone: '+1 415 555 0123 ext 7', state: 'remote-state-1', mode: 'remote' }, status: 400, error: 'invalid_request' },
    { name: 'login: broken JSON', path: '/login', body: '{"phone":', status: 400, error: 'invalid_request' },
    { name: 'login: plain text body', path: '/login', body: 'phone=1', contentType: 'text/plain', status: 415, error: 'unsupported_media_type' },
    { name: 'exchange: no body fields', path: '/auth/exchange', body: {}, status: 400, error: 'invalid_request' },
    { name: 'exchange: 5-digit code', path: '/auth/exchange', body: { temp_token: 'abc', pairing_code: '12345' }, status: 400, error: 'invalid_request' },
    { name: 'exchange: letters in code', path: '/auth/exchange', body: { temp_token: 'abc', pairing_code: '12a456' }, status: 400, error: 'invalid_request' },
    { name: 'exchange: huge temp token', path: '/auth/exchange', body: { temp_token: 'a'.repeat(600), pairing_code: '123456' }, status: 400, error: 'invalid_request' },
    { name: 'exchange: array body', path: '/auth/exchange', body: [1, 2], status: 400, error: 'invalid_request' },
    { name: 'refresh: no token', path: '/auth/refresh', body: {}, status: 401, error: 'unauthorized' },
    { name: 'logout: no token', path: '/auth/logout', body: {}, status: 401, error: 'unauthorized' },
  ]
  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.error}`, async () => {
      const res = await fetch(`${server.url}${c.path}`, {
        method: 'POST',
        headers: { 'content-type': c.contentType ?? 'application/json', ...fromNewAddress() },
        body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
      })
      expect(res.status).toBe(c.status)
      const body = await errorOf(res)
      expect(body.error).toBe(c.error)
      expect(body.request_id).toMatch(/^req_/)
      expect(twilio.messages).toHaveLength(0)
    })
  }

  it('GET on the POST-only auth endpoints is 405 with Allow', async () => {
    for (const path of ['/auth/exchange', '/auth/refresh', '/auth/logout']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('POST')
      expect((await errorOf(res)).error).toBe('method_not_allowed')
    }
  })
})

describe('when the provider will not text the number', () => {
  it('a number the provider calls invalid (21211) is 400 invalid_request saying it cannot receive texts', async () => {
    const res = await postJson(`${server.url}/login`, { phone: '+15005550001', state: 'remote-state-1', mode: 'remote' }, fromNewAddress())
    expect(res.status).toBe(400)
    const body = await errorOf(res)
    expect(body.error).toBe('invalid_request')
    expect(body.message).toMatch(/cannot receive texts/)
    expect(body.details).toMatchObject({ reason: 'cannot_receive_texts', provider_code: 21211 })
  })

  it('a landline the provider refuses (21614) is 400 too, and its temp token is never issued', async () => {
    const res = await postJson(`${server.url}/login`, { phone: '+15005550009', state: 'remote-state-1', mode: 'remote' }, fromNewAddress())
    expect(res.status).toBe(400)
    expect((await errorOf(res)).details).toMatchObject({ provider_code: 21614 })
    const rows = await db.sql`select voided_at from pairing_requests where phone_e164 = '+15005550009'`
    expect(rows).toHaveLength(1)
    expect(rows[0]!.voided_at).not.toBeNull()
  })

  it('a provider that keeps failing is 503 service_unavailable with Retry-After', async () => {
    twilio.failNext(3, { status: 500 })
    const res = await postJson(`${server.url}/login`, { phone: testPhone(), state: 'remote-state-1', mode: 'remote' }, fromNewAddress())
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('60')
    expect((await errorOf(res)).error).toBe('service_unavailable')
  })

  it('the browser form shows the same problem on the page', async () => {
    const phone = testPhone()
    twilio.failFor(phone, { status: 400, code: 21614 })
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...fromNewAddress() },
      body: new URLSearchParams({ phone, state: 'st4te-from-plugin', callback_uri: 'http://127.0.0.1:4000/cb' }),
      redirect: 'manual',
    })
    expect(res.status).toBe(400)
    expect(await res.text()).toMatch(/cannot receive texts/)
  })
})

describe('the helper used by other suites', () => {
  it('pairs a number end to end', async () => {
    const { accessToken, paired } = await pairRemotely(server.url, twilio, testPhone(), fromNewAddress())
    expect(accessToken.split('.')).toHaveLength(3)
    expect(paired.phone).toMatch(/^\+1\*\*\*\d{4}$/)
  })
})
