import fc from 'fast-check'
import { SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { TEST_JWT_SECRET, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { api, monitoredSession } from '../support/monitoring.js'

// Property-based fuzzing of every endpoint: whatever arrives, the server answers with a 4xx (or a
// 2xx/3xx where the input happens to be valid), never a 5xx, always with the JSON error shape on API
// routes, never with a stack trace or an internal path, and it stays up. 10,000+ requests per run.

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'fuzz', env: { LOG_LEVEL: 'warn' } }))
let validJwt: string
let sessionToken: string
let monitoringId: string

beforeAll(async () => {
  await newSession()
})

/** A fresh user and session, so valid credentials keep reaching deep code after a fuzzed logout or stop. */
async function newSession() {
  const session = await monitoredSession(server, db.sql)
  validJwt = session.accessToken
  sessionToken = session.token
  monitoringId = session.id
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH'
interface Endpoint {
  method: Method
  path: (id: string) => string
  kind: 'api' | 'page' | 'webhook'
}

const ENDPOINTS: Endpoint[] = [
  { method: 'GET', path: () => '/login', kind: 'page' },
  { method: 'POST', path: () => '/login', kind: 'page' },
  { method: 'POST', path: () => '/auth/exchange', kind: 'api' },
  { method: 'POST', path: () => '/auth/refresh', kind: 'api' },
  { method: 'POST', path: () => '/auth/logout', kind: 'api' },
  { method: 'POST', path: () => '/sessions/start', kind: 'api' },
  { method: 'POST', path: (id) => `/sessions/${id}/events`, kind: 'api' },
  { method: 'POST', path: (id) => `/sessions/${id}/heartbeat`, kind: 'api' },
  { method: 'POST', path: (id) => `/sessions/${id}/stop`, kind: 'api' },
  { method: 'POST', path: (id) => `/sessions/${id}/approvals`, kind: 'api' },
  { method: 'GET', path: (id) => `/sessions/${id}/approvals/${id}`, kind: 'api' },
  { method: 'POST', path: (id) => `/sessions/${id}/approvals/${id}/settle`, kind: 'api' },
  { method: 'POST', path: () => '/twilio/inbound', kind: 'webhook' },
  { method: 'POST', path: () => '/twilio/status', kind: 'webhook' },
  { method: 'POST', path: (id) => `/twilio/voice/calls/${id}`, kind: 'webhook' },
  { method: 'POST', path: (id) => `/twilio/voice/calls/${id}/gather`, kind: 'webhook' },
  { method: 'POST', path: () => '/twilio/voice/status', kind: 'webhook' },
  { method: 'POST', path: (id) => `/dashboard/outbox/calls/${id}/keypress`, kind: 'page' },
  { method: 'GET', path: () => '/dashboard', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/sessions', kind: 'page' },
  { method: 'GET', path: (id) => `/dashboard/sessions/${id}`, kind: 'page' },
  { method: 'GET', path: () => '/dashboard/login', kind: 'page' },
  { method: 'POST', path: () => '/dashboard/login', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/login/code', kind: 'page' },
  { method: 'POST', path: () => '/dashboard/login/code', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/settings', kind: 'page' },
  { method: 'POST', path: () => '/dashboard/settings', kind: 'page' },
  { method: 'POST', path: () => '/dashboard/logout', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/stats', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/outbox', kind: 'page' },
  { method: 'GET', path: () => '/dashboard/static/style.css', kind: 'page' },
  { method: 'GET', path: () => '/healthz', kind: 'api' },
]

const ids = fc.oneof(
  fc.constant('the-real-session'),
  fc.uuid(),
  fc.string({ maxLength: 40 }),
  fc.constantFrom("1' or '1'='1", '../../etc/passwd', '%00', '%2e%2e%2f', 'null', '-1', '9'.repeat(40), '😀', '%F0%9F%98%80', '%ZZ'),
).map((s) => (s === 'the-real-session' ? s : encodeURIComponent(s).slice(0, 200) || 'x'))

const deepJson = fc.integer({ min: 50, max: 5_000 }).map((n) => '['.repeat(n) + ']'.repeat(n))
// What PostgreSQL cannot store: NULs (binary tool output) and lone surrogates (half an emoji), in
// values and in keys; they must become U+FFFD, never a 500.
const unstorable = fc.constantFrom('\u0000', '\ud83d', '\ude00', '\udfff\ud800', 'a\u0000\u0000b', '\u0000\ud83d\ude00')
const hostileString = fc.oneof(fc.string(), fc.tuple(fc.string({ maxLength: 20 }), unstorable, fc.string({ maxLength: 20 })).map((p) => p.join('')))
const hostileJson = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, hostileString, fc.integer(), fc.constant(null), fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(hostileString, tie('value'), { maxKeys: 3 })),
})).value
// Nested 15–40 levels: up to 20 is kept, deeper is 400.
const nestedDetails = fc.integer({ min: 15, max: 40 }).map((n) => { let v: unknown = 'leaf'; for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v }; return { nested: v } })
const timestamps = fc.oneof(
  fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'bad' : d.toISOString())),
  fc.date({ min: new Date('1969-01-01T00:00:00Z'), max: new Date('2101-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('0000-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '2100-01-01T00:00:01Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z'),
  fc.string(),
)
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ phone: hostileString, state: hostileString, mode: fc.constantFrom('remote', 'local', ''), temp_token: hostileString, pairing_code: hostileString, event_type: fc.constantFrom('error', 'done', 'waiting', 'x'), timestamp: timestamps, details: fc.oneof(fc.jsonValue({ maxDepth: 3 }), hostileJson, nestedDetails), event_id: hostileString }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ claude_session_id: hostileString, description: hostileString, hostname: hostileString, project: hostileString, started_at: timestamps, reason: hostileString, final_state: hostileString, ended_at: timestamps, last_activity: timestamps }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  deepJson,
  fc.integer({ min: 65_000, max: 80_000 }).map((n) => JSON.stringify({ pad: 'x'.repeat(n) })),
  fc.constantFrom('', '{', 'null', '"str"', '1e999', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}'),
)
const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-7', undefined)

const forged = {
  none: () => `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: '00000000-0000-0000-0000-000000000000', jti: '00000000-0000-0000-0000-000000000000', exp: 9999999999 })).toString('base64url')}.`,
  otherKey: () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setJti('y').setExpirationTime('1h').sign(new TextEncoder().encode('another-key-another-key-another-key!!')),
  sameKeyWrongClaims: () => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setJti('y').setExpirationTime('1h').sign(new TextEncoder().encode(TEST_JWT_SECRET)),
}
const authHeaders = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 100 }).map((s) => `Bearer ${s}`),
  fc.constantFrom('forged-none', 'forged-other-key', 'forged-claims', 'valid', 'session', 'session', 'Basic dXNlcjpwYXNz', 'Bearer', 'bearer  '),
)

async function resolveAuth(a: string | undefined): Promise<string | undefined> {
  if (a === 'forged-none') return `Bearer ${forged.none()}`
  if (a === 'forged-other-key') return `Bearer ${await forged.otherKey()}`
  if (a === 'forged-claims') return `Bearer ${await forged.sameKeyWrongClaims()}`
  if (a === 'valid') return `Bearer ${validJwt}`
  if (a === 'session') return `Bearer ${sessionToken}`
  return a
}

const requests = fc.record({
  endpoint: fc.constantFrom(...ENDPOINTS),
  method: fc.option(fc.constantFrom<Method>('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), { freq: 5 }),
  id: ids,
  body: bodies,
  contentType: contentTypes,
  auth: authHeaders,
  signature: fc.option(fc.string({ maxLength: 40 })),
  // Dashboard cookies: none, random, forged session values, a huge one.
  cookie: fc.option(
    fc.oneof(
      fc.string({ maxLength: 80 }).map((v) => `sms_dashboard=${encodeURIComponent(v)}`),
      fc.base64String({ minLength: 40, maxLength: 64 }).map((v) => `sms_dashboard=${v}; __Host-sms_dashboard=${v}`),
      fc.string({ maxLength: 200 }),
      fc.constant(`sms_dashboard=${'a'.repeat(8_000)}`),
    ),
  ),
  query: fc.option(fc.dictionary(fc.constantFrom('callback_uri', 'state', 'src', 'x'), fc.oneof(fc.string(), fc.constantFrom('http://127.0.0.1:1/cb', 'http://evil.example/', 'javascript:alert(1)')))),
})

let sent = 0
const STACK_OR_PATH = /\n\s+at |node_modules|\/work\/|\/server\/|\.ts:\d+|\.js:\d+|TypeError|ReferenceError|SyntaxError: Unexpected/


describe('fuzzing every endpoint', () => {
  it('never answers 5xx, always with the error shape, never with a stack trace, and stays up', async () => {
    await fc.assert(
      fc.asyncProperty(requests, async (r) => {
        const method = r.method ?? r.endpoint.method
        const query = r.query ? `?${new URLSearchParams(r.query).toString()}` : ''
        const headers: Record<string, string> = {}
        if (r.contentType) headers['content-type'] = r.contentType
        const auth = await resolveAuth(r.auth)
        if (auth) headers.authorization = auth
        if (r.signature !== null) headers['x-twilio-signature'] = r.signature
        if (r.cookie !== null) headers.cookie = r.cookie.replace(/[^\t\x20-\x7e]/g, '')
        const id = r.id === 'the-real-session' ? monitoringId : r.id
        const res = await fetch(`${server.url}${r.endpoint.path(id)}${query}`, {
          method,
          headers,
          body: method === 'GET' ? undefined : r.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(10_000),
        })
        sent++
        const text = await res.text()
        if (res.status === 200 && /\/(logout|stop)$/.test(r.endpoint.path(id))) await newSession()
        expect(res.status, `${method} ${r.endpoint.path(r.id)} -> ${res.status}: ${text.slice(0, 300)}`).toBeLessThan(500)
        expect(text).not.toMatch(STACK_OR_PATH)
        const isJson = (res.headers.get('content-type') ?? '').startsWith('application/json')
        if (res.status >= 400 && (r.endpoint.kind !== 'page' || isJson)) {
          expect(isJson, `${method} ${r.endpoint.path(r.id)} -> ${res.status} ${res.headers.get('content-type')}`).toBe(true)
          const body = JSON.parse(text) as Record<string, unknown>
          expect(body).toMatchObject({ error: expect.any(String), message: expect.any(String), details: expect.any(Object), request_id: expect.stringMatching(/^req_/) })
        }
      }),
      { numRuns: 10_000, endOnFailure: true },
    )
    expect(sent).toBeGreaterThanOrEqual(10_000)
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200)
  }, 600_000)

  // The random mix above rarely gets a well-formed request past authentication; these do, so
  // hostile strings, dates and nesting reach the database.
  it('authenticated requests with NULs, lone surrogates, far-off dates or deep details get 2xx or 400, never 5xx', async () => {
    const validTime = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString())
    const authenticated = fc.oneof(
      fc.record({ route: fc.constant('events' as const), body: fc.record({ event_type: fc.constantFrom('error', 'done', 'waiting'), timestamp: fc.oneof(validTime, timestamps), details: fc.oneof(hostileJson.filter((d) => typeof d === 'object' && d !== null && !Array.isArray(d)), nestedDetails, fc.record({ tool_name: hostileString, error: hostileString, message: hostileString })), event_id: hostileString }) }),
      fc.record({ route: fc.constant('start' as const), body: fc.record({ claude_session_id: hostileString, description: hostileString, hostname: hostileString, project: hostileString, started_at: fc.oneof(validTime, timestamps) }, { requiredKeys: ['claude_session_id', 'description'] }) }),
      fc.record({ route: fc.constant('heartbeat' as const), body: fc.record({ timestamp: fc.oneof(validTime, timestamps), last_activity: fc.oneof(validTime, timestamps) }) }),
    )
    await fc.assert(
      fc.asyncProperty(authenticated, async (r) => {
        const [path, token] = r.route === 'start' ? ['/sessions/start', validJwt] : [`/sessions/${monitoringId}/${r.route}`, sessionToken]
        const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(r.body), signal: AbortSignal.timeout(10_000) })
        const text = await res.text()
        expect([200, 400, 409, 429], `${path} -> ${res.status}: ${text.slice(0, 300)}`).toContain(res.status)
        if (r.route === 'start' && res.status === 200) await api(server.url, 'POST', `/sessions/${(JSON.parse(text) as { monitoring_id: string }).monitoring_id}/stop`, { token: (JSON.parse(text) as { session_token: string }).session_token, body: {} })
      }),
      { numRuns: 300, endOnFailure: true },
    )
  }, 300_000)
})
