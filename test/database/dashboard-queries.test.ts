import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { api, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser } from '../support/users.js'

// The specification's "Future: Monitoring Dashboard" queries, exactly as it prints them (docs/database.md).
const SESSIONS_OF_USER = `SELECT * FROM sessions WHERE user_phone = '+1234567890';`
const SMS_HISTORY = `SELECT * FROM sms_events WHERE session_id = 123;`
const STATS = `SELECT
  COUNT(*) as total_sessions,
  SUM(sms_sent_count) as total_sms,
  AVG(EXTRACT(EPOCH FROM (ended_at - started_at))) as avg_duration
FROM sessions
WHERE user_phone = '+1234567890';`

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'dashboard-queries' }))

const MINUTE = 60_000

async function start(accessToken: string, description: string) {
  const res = await api(server.url, 'POST', '/sessions/start', {
    token: accessToken,
    body: { claude_session_id: randomUUID(), description, project: 'billing', hostname: 'laptop' },
  })
  expect(res.status).toBe(200)
  return { id: res.body.monitoring_id as string, token: res.body.session_token as string }
}

async function stop(s: { id: string; token: string }) {
  const res = await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'user_stopped', final_state: 'completed', ended_at: clock.now().toISOString() } })
  expect(res.status).toBe(200)
  return res.body.session_summary as { sms_sent: number; duration_seconds: number }
}

describe("the specification's dashboard SQL", () => {
  it('runs unchanged after a real session and gives its figures', async () => {
    // Numbered from 123 so that the specification's `session_id = 123` names this user's first session.
    await db.sql`alter table monitoring_sessions alter column session_number restart with 123`
    const me = await pairedUser(db.sql, server.config, { phone: '+1234567890' })
    const someoneElse = await pairedUser(db.sql, server.config)

    // Session 123, 45 minutes: an error (texted), a second error (held by the 30-minute limit), done (texted).
    const first = await start(me.accessToken, 'Fixing production bug')
    expect((await sendEvent(server, first, { event_type: 'error', details: { tool_name: 'Bash', error: 'npm test failed' } })).body.sms_sent).toBe(true)
    clock.advance(5 * MINUTE)
    expect((await sendEvent(server, first, { event_type: 'error', details: { tool_name: 'Bash', error: 'still failing' } })).status).toBe(429)
    clock.advance(40 * MINUTE)
    expect((await sendEvent(server, first, { event_type: 'done', details: {} })).body.sms_sent).toBe(true)
    const firstSummary = await stop(first)

    // Session 124, 15 minutes, one waiting text.
    const second = await start(me.accessToken, 'Upgrade dependencies')
    clock.advance(15 * MINUTE)
    expect((await sendEvent(server, second, { event_type: 'waiting', details: { message: 'Which version?' } })).body.sms_sent).toBe(true)
    await stop(second)

    // Someone else's session, still running: in no figure of ours.
    const theirs = await start(someoneElse.accessToken, 'Not mine')
    await sendEvent(server, theirs, { event_type: 'error', details: { error: 'boom' } })

    const texts = await twilio.waitForMessages(4)
    expect(texts.filter((t) => t.to === '+1234567890')).toHaveLength(3)
    // The first text is delivered: its receipt shows in the history.
    const errorText = texts.find((t) => t.to === '+1234567890' && t.body.includes('npm test failed'))!
    expect((await twilio.postStatus(errorText.sid, 'delivered')).ok).toBe(true)

    const sessions = await db.sql.unsafe(SESSIONS_OF_USER)
    expect(sessions.map((s) => [s.id, s.description, s.sms_sent_count, s.status])).toEqual(
      expect.arrayContaining([
        ['123', 'Fixing production bug', 2, 'stopped'],
        ['124', 'Upgrade dependencies', 1, 'stopped'],
      ]),
    )
    expect(sessions).toHaveLength(2)
    const s123 = sessions.find((s) => s.id === '123')!
    expect(s123).toMatchObject({ monitoring_id: first.id, user_phone: '+1234567890', user_phone_masked: '+1***7890', project: 'billing', error_count: 2, event_count: 3 })
    expect((s123.ended_at as Date).getTime() - (s123.started_at as Date).getTime()).toBe(45 * MINUTE)
    // The view and the stop answer count texts the same way.
    expect(s123.sms_sent_count).toBe(firstSummary.sms_sent)

    const history = await db.sql.unsafe(SMS_HISTORY)
    expect(history.map((e) => [e.event_type, e.outcome, e.sms_sent])).toEqual(
      expect.arrayContaining([
        ['error', 'sent', true],
        ['error', 'rate_limited', false],
        ['done', 'sent', true],
      ]),
    )
    expect(history).toHaveLength(3)
    const sentError = history.find((e) => e.outcome === 'sent' && e.event_type === 'error')!
    expect(sentError).toMatchObject({ session_id: '123', monitoring_id: first.id, sms_status: 'delivered', sms_body: errorText.body, to_masked: '+1***7890' })
    expect(history.find((e) => e.outcome === 'rate_limited')!.sms_body).toBeNull()

    const [stats] = await db.sql.unsafe(STATS)
    // PostgreSQL answers bigint and numeric as strings: 2 sessions, 3 texts, (45 + 15) / 2 minutes.
    expect(Object.keys(stats!)).toEqual(['total_sessions', 'total_sms', 'avg_duration'])
    expect([Number(stats!.total_sessions), Number(stats!.total_sms), Number(stats!.avg_duration)]).toEqual([2, 3, 30 * 60])
  })

  it('offers views that cannot be written through', async () => {
    await expect(db.sql`delete from sessions`).rejects.toThrow(/cannot delete from view "sessions"/)
    await expect(db.sql`update sms_events set outcome = 'sent'`).rejects.toThrow(/cannot update view "sms_events"/)
    const [row] = await db.sql<{ count: string }[]>`select count(*) from monitoring_sessions`
    expect(Number(row!.count)).toBeGreaterThan(0)
  })
})
