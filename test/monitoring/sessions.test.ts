import { createHash, randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { HeartbeatResponse, StartSessionResponse, StopResponse } from '../../contract/api.js'
import { StartApprovalsAnswer } from '../../contract/approvals.js'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'monitoring-sessions' }))

describe('starting monitoring', () => {
  it('gives a session token and a monitoring id; only the token hash is stored', async () => {
    const s = await monitoredSession(server, db.sql)
    expect(Buffer.from(s.token, 'base64url')).toHaveLength(32)
    const [row] = await db.sql`select * from monitoring_sessions where id = ${s.id}`
    expect(row!.session_token_hash).toBe(createHash('sha256').update(s.token).digest('hex'))
    expect(JSON.stringify(row)).not.toContain(s.token)
    expect(row!.status).toBe('active')
    expect(row!.user_id).toBe(s.userId)
  })

  it('needs the paired user\'s access token', async () => {
    const body = { claude_session_id: randomUUID(), description: 'x' }
    const none = await api(server.url, 'POST', '/sessions/start', { body })
    expect(none.status).toBe(401)
    expect(none.body.error).toBe('unauthorized')
    const bad = await api(server.url, 'POST', '/sessions/start', { body, token: 'not-a-jwt' })
    expect(bad.status).toBe(401)
  })

  it('rejects a bad request with 400 naming the field', async () => {
    const { accessToken } = await pairedUser(db.sql, server.config)
    const res = await api(server.url, 'POST', '/sessions/start', { token: accessToken, body: { claude_session_id: 'x' } })
    expect(res.status).toBe(400)
    expect(res.body.error).toBe('invalid_request')
    expect(res.body.message).toContain('description')
  })

  it('takes a description of up to 200 characters, the limit the plugin states, and refuses a longer one in the same words', async () => {
    const { accessToken } = await pairedUser(db.sql, server.config)
    const start = (description: string) => api(server.url, 'POST', '/sessions/start', { token: accessToken, body: { claude_session_id: randomUUID(), description } })
    expect((await start('d'.repeat(200))).status).toBe(200)
    const tooLong = await start('d'.repeat(201))
    expect(tooLong.status).toBe(400)
    expect(tooLong.body.message).toBe('Invalid request body: description: at most 200 characters')
  })

  it('refuses a second start of a Claude session that is still monitored, until it is stopped', async () => {
    const { user, accessToken } = await pairedUser(db.sql, server.config)
    const body = { claude_session_id: `claude-${randomUUID()}`, description: 'Refactor' }
    const first = await api(server.url, 'POST', '/sessions/start', { token: accessToken, body })
    expect(first.status).toBe(200)
    // The answer is the contract's start answer plus the approvals field (contract/approvals.ts), nothing else.
    expect(StartSessionResponse.extend(StartApprovalsAnswer.shape).strict().parse(first.body)).toEqual({ ...first.body, approvals_enabled: false })
    const second = await api(server.url, 'POST', '/sessions/start', { token: accessToken, body })
    expect(second.status).toBe(409)
    expect(second.body.error).toBe('conflict')
    expect(second.body.message).toMatch(/stop it first/i)
    expect(second.body.details).toEqual({ monitoring_id: first.body.monitoring_id })
    expect(second.body.request_id).toMatch(/^req_/)

    // Ten starts racing for the same Claude session: one wins.
    const racing = { claude_session_id: `claude-${randomUUID()}`, description: 'Race' }
    const results = await Promise.all(Array.from({ length: 10 }, () => api(server.url, 'POST', '/sessions/start', { token: accessToken, body: racing })))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 409)).toHaveLength(9)

    const stop = await api(server.url, 'POST', `/sessions/${first.body.monitoring_id}/stop`, { token: first.body.session_token as string, body: { reason: 'user_stopped' } })
    expect(stop.status).toBe(200)
    const again = await api(server.url, 'POST', '/sessions/start', { token: accessToken, body })
    expect(again.status).toBe(200)
    expect(again.body.monitoring_id).not.toBe(first.body.monitoring_id)
    expect(user.id).toBeTruthy()
  })
})

describe('session tokens', () => {
  it('a heartbeat with the token keeps the session active', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: new Date().toISOString(), last_activity: '2026-03-01T11:59:00Z' } })
    expect(res.status).toBe(200)
    expect(HeartbeatResponse.strict().parse(res.body)).toEqual({ status: 'active', monitoring: true })
    const [row] = await db.sql`select last_activity_at from monitoring_sessions where id = ${s.id}`
    expect(row!.last_activity_at.toISOString()).toBe('2026-03-01T11:59:00.000Z')
  })

  it('heartbeats arriving together are each answered for their own session, and each live one is recorded', async () => {
    const live = await Promise.all([monitoredSession(server, db.sql), monitoredSession(server, db.sql), monitoredSession(server, db.sql)])
    const stopped = await monitoredSession(server, db.sql)
    const stop = await api(server.url, 'POST', `/sessions/${stopped.id}/stop`, { token: stopped.token, body: { reason: 'user_stopped' } })
    expect(stop.status).toBe(200)
    await db.sql`update monitoring_sessions set status = 'stale' where id = ${live[2]!.id}`
    const beat = (s: { id: string; token: string }, i: number) =>
      api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: clock.now().toISOString(), last_activity: `2026-03-01T11:${String(10 + i).padStart(2, '0')}:00Z` } })
    // Ten heartbeats per live session, the stopped session's and another session's token, all at once.
    const answers = await Promise.all([
      ...live.flatMap((s) => Array.from({ length: 10 }, (_, i) => beat(s, i))),
      beat(stopped, 0),
      beat({ id: live[0]!.id, token: live[1]!.token }, 0),
    ])
    expect(answers.slice(0, 30).map((a) => a.status)).toEqual(Array(30).fill(200))
    expect(answers[30]!.status).toBe(401)
    expect(answers[31]!.status).toBe(404)
    const rows = await db.sql<{ id: string; status: string; last_activity_at: Date; last_heartbeat_at: Date }[]>`
      select id, status, last_activity_at, last_heartbeat_at from monitoring_sessions where id in ${db.sql([...live, stopped].map((s) => s.id))}`
    const byId = new Map(rows.map((r) => [r.id, r]))
    for (const s of live) {
      // Revived if it was stale; the newest activity of its heartbeats is kept.
      expect(byId.get(s.id)).toMatchObject({ status: 'active', last_activity_at: new Date('2026-03-01T11:19:00Z'), last_heartbeat_at: clock.now() })
    }
    expect(byId.get(stopped.id)!.status).toBe('stopped')
  })

  it('a missing or wrong token is 401; another session\'s token or an unknown id is 404', async () => {
    const a = await monitoredSession(server, db.sql)
    const b = await monitoredSession(server, db.sql)
    const hb = { timestamp: new Date().toISOString() }
    for (const path of ['heartbeat', 'events', 'stop']) {
      expect((await api(server.url, 'POST', `/sessions/${a.id}/${path}`, { body: hb })).status).toBe(401)
      const wrong = await api(server.url, 'POST', `/sessions/${a.id}/${path}`, { token: 'x'.repeat(43), body: hb })
      expect(wrong.status).toBe(401)
      expect(wrong.body.error).toBe('unauthorized')
      const other = await api(server.url, 'POST', `/sessions/${a.id}/${path}`, { token: b.token, body: hb })
      expect(other.status).toBe(404)
      expect(other.body.error).toBe('session_not_found')
      const unknown = await api(server.url, 'POST', `/sessions/${randomUUID()}/${path}`, { token: b.token, body: hb })
      expect(unknown.status).toBe(404)
      expect(unknown.body.error).toBe('session_not_found')
      expect((await api(server.url, 'POST', `/sessions/not-a-uuid/${path}`, { token: b.token, body: hb })).status).toBe(404)
    }
    // The user's JWT is not a session token.
    expect((await api(server.url, 'POST', `/sessions/${a.id}/heartbeat`, { token: a.accessToken, body: hb })).status).toBe(401)
  })

  it('a malformed heartbeat is 400, not a 500', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: 'yesterday' } })
    expect(res.status).toBe(400)
    expect(res.body.error).toBe('invalid_request')
    const event = await sendEvent(server, s, { event_type: 'explosion' })
    expect(event.status).toBe(400)
    expect(twilio.messages.filter((m) => m.to === s.phone)).toHaveLength(0)
  })
})

describe('stopping monitoring', () => {
  it('answers with a summary of the session, and the token is dead afterwards', async () => {
    const s = await monitoredSession(server, db.sql)
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'boom' } })).status).toBe(200)
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'boom again' } })).status).toBe(429)
    expect((await sendEvent(server, s, { event_type: 'done' })).status).toBe(200)
    clock.advance(125_000)
    const stop = await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'session_end', final_state: 'completed', ended_at: clock.now().toISOString() } })
    expect(stop.status).toBe(200)
    expect(StopResponse.strict().parse(stop.body)).toEqual({ stopped: true, session_summary: { duration_seconds: 125, sms_sent: 2, errors_encountered: 2 } })
    const [row] = await db.sql`select status, stop_reason, final_state, stopped_at from monitoring_sessions where id = ${s.id}`
    expect(row).toMatchObject({ status: 'stopped', stop_reason: 'session_end', final_state: 'completed' })

    for (const path of ['heartbeat', 'events', 'stop']) {
      const res = await api(server.url, 'POST', `/sessions/${s.id}/${path}`, { token: s.token, body: { timestamp: new Date().toISOString(), event_type: 'done' } })
      expect(res.status).toBe(401)
      expect(res.body.error).toBe('unauthorized')
    }
  })

  it('logout stops the user\'s sessions and their tokens are dead', async () => {
    const s = await monitoredSession(server, db.sql)
    await monitoredSession(server, db.sql, { user: s })
    const logout = await api(server.url, 'POST', '/auth/logout', { token: s.accessToken })
    expect(logout.status).toBe(200)
    expect(logout.body).toEqual({ revoked: true, sessions_cleared: 2 })
    const [row] = await db.sql`select status, stop_reason from monitoring_sessions where id = ${s.id}`
    expect(row).toEqual({ status: 'stopped', stop_reason: 'logout' })
    const res = await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: new Date().toISOString() } })
    expect(res.status).toBe(401)
    expect((await sendEvent(server, s, { event_type: 'error' })).status).toBe(401)
  })

  it('rejects GET with 405', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await api(server.url, 'GET', `/sessions/${s.id}/stop`, { token: s.token })
    expect(res.status).toBe(405)
  })
})
