import fc from 'fast-check'
import { SignJWT } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { TEST_JWT_SECRET, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { monitoredSession } from '../support/monitoring.js'

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
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ phone: fc.string(), state: fc.string(), mode: fc.constantFrom('remote', 'local', ''), temp_token: fc.string(), pairing_code: fc.string(), event_type: fc.constantFrom('error', 'done', 'waiting', 'x'), timestamp: fc.oneof(fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'bad' : d.toISOString())), fc.string()), details: fc.jsonValue({ maxDepth: 3 }), event_id: fc.string() }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
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
})
