import { describe, expect, it } from 'vitest'
import { storableValue } from '../../server/http/well-formed-input.js'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'hostile-input' }))

describe('input PostgreSQL cannot store', () => {
  it('a tool error holding binary output (a NUL byte) is still texted, with the NUL replaced', async () => {
    const s = await monitoredSession(server, db.sql)
    twilio.reset()
    const res = await sendEvent(server, s, { event_type: 'error', details: { tool_name: 'Bash', error: 'cat: binary\u0000output\u0000here' } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.sms_sent).toBe(true)
    const [text] = await twilio.waitForMessages(1)
    expect(text!.body).toContain('binary')
    expect(text!.body).not.toContain('\u0000')
    const [row] = await db.sql<{ details: { error: string } }[]>`select details from session_events where session_id = ${s.id}`
    expect(row!.details.error).toBe('cat: binary\uFFFDoutput\uFFFDhere')
  })

  it('lone surrogates and NULs anywhere in details, keys included, are replaced, never a 500', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await sendEvent(server, s, { event_type: 'done', details: { message: 'half an emoji \ud83d', 'k\u0000ey': ['\udc00', { deep: 'a\u0000b' }] } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const [row] = await db.sql<{ details: Record<string, unknown> }[]>`select details from session_events where session_id = ${s.id}`
    expect(row!.details).toMatchObject({ message: 'half an emoji \uFFFD', 'k\uFFFDey': ['\uFFFD', { deep: 'a\uFFFDb' }] })
  })

  it('a session description, project and host with NULs start monitoring', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await api(server.url, 'POST', '/sessions/start', {
      token: s.accessToken,
      body: { claude_session_id: 'nul\u0000id', description: 'Fix\u0000 \ud800bug', project: 'p\u0000', hostname: 'h\u0000' },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const [row] = await db.sql<{ description: string }[]>`select description from monitoring_sessions where id = ${res.body.monitoring_id as string}`
    expect(row!.description).toBe('Fix\uFFFD \uFFFDbug')
  })

  it('a stop reason with a NUL is stored, not a 500', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'user\u0000stopped', final_state: '\udfff' } })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
  })

  it('a NUL in an event id is refused or replaced, never a 500', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await sendEvent(server, s, { event_type: 'done', event_id: 'id\u0000x' })
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(500)
  })
})

describe('timestamps and nesting', () => {
  it.each(['0001-01-01T00:00:00Z', '1969-12-31T23:59:59Z', '2100-01-01T00:00:01Z', '9999-12-31T23:59:59Z', '+275760-09-13T00:00:00Z'])(
    'an event at %s is 400 naming the timestamp',
    async (timestamp) => {
      const s = await monitoredSession(server, db.sql)
      const res = await sendEvent(server, s, { event_type: 'done', timestamp })
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.error).toBe('invalid_request')
      expect(res.body.message).toMatch(/timestamp/)
    },
  )

  it('timestamps at the edges of 1970–2100 are accepted', async () => {
    const s = await monitoredSession(server, db.sql)
    expect((await sendEvent(server, s, { event_type: 'done', timestamp: '1970-01-01T00:00:00Z', event_id: 'a' })).status).toBe(200)
    expect((await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: '2099-12-31T23:59:59Z' } })).status).toBe(200)
  })

  it('heartbeat, start and stop refuse far-off timestamps with 400', async () => {
    const s = await monitoredSession(server, db.sql)
    expect((await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: new Date().toISOString(), last_activity: '0000-01-01T00:00:00Z' } })).status).toBe(400)
    expect((await api(server.url, 'POST', '/sessions/start', { token: s.accessToken, body: { claude_session_id: 'x1', description: 'd', started_at: '5000-01-01T00:00:00Z' } })).status).toBe(400)
    expect((await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { ended_at: '1900-01-01T00:00:00Z' } })).status).toBe(400)
  })

  it('details nested deeper than 20 levels are 400; 20 levels are kept', async () => {
    const s = await monitoredSession(server, db.sql)
    const nest = (n: number): unknown => (n === 0 ? 'leaf' : { a: nest(n - 1) })
    const deep = await sendEvent(server, s, { event_type: 'done', details: nest(21) as Record<string, unknown> })
    expect(deep.status, JSON.stringify(deep.body)).toBe(400)
    expect(deep.body.message).toMatch(/details.*20 levels/)
    const ok = await sendEvent(server, s, { event_type: 'done', details: nest(20) as Record<string, unknown>, event_id: 'ok' })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
  })

  it('a JSON body a few thousand levels deep is 400, not a 500 from PostgreSQL', async () => {
    const s = await monitoredSession(server, db.sql)
    const body = `{"event_type":"done","timestamp":"${new Date().toISOString()}","details":{"x":${'['.repeat(3000)}${']'.repeat(3000)}}}`
    const res = await fetch(`${server.url}/sessions/${s.id}/events`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${s.token}` }, body })
    expect(res.status).toBe(400)
  })
})

describe('the copy made storable', () => {
  it('keeps a "__proto__" key a plain key: the copy never gains properties from it', () => {
    const copy = storableValue(JSON.parse('{"__proto__":{"admin":true},"a":{"__proto__":{"admin":true}}}')) as Record<string, Record<string, unknown>>
    expect(copy.admin).toBeUndefined()
    expect(copy.a!.admin).toBeUndefined()
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype)
    expect(Object.keys(copy)).toEqual(['__proto__', 'a'])
  })
})
