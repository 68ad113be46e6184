import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { EventLimitedResponse, EventSentResponse } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { segmentInfo } from '../../server/sms/segments.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint, startTestServer } from '../support/server.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'monitoring-events' }))

const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)

describe('an event becomes a text', () => {
  it('the first error is texted with the session, the project and the error, and recorded with its segments', async () => {
    const s = await monitoredSession(server, db.sql, { description: 'Refactor auth' })
    const res = await sendEvent(server, s, { event_type: 'error', details: { tool_name: 'Bash', error: 'Exit code 1\nnpm ERR! test failed', cwd: '/home/me/code/shop-api' } })
    expect(res.status).toBe(200)
    expect(EventSentResponse.parse(res.body)).toEqual({ sms_sent: true, sms_id: expect.any(String), rate_limited: false, next_allowed_at: null })
    const [text] = textsTo(s.phone)
    expect(text!.body).toBe('⚠️ Claude: "Refactor auth"\nError: Bash: Exit code 1: npm ERR! test failed\nProject: shop-api\n\nReply STOP to disable')
    const [row] = await db.sql`select * from sms_messages where id = ${res.body.sms_id as string}`
    expect(row).toMatchObject({ user_id: s.userId, kind: 'event', provider_sid: text!.sid, status: 'queued', encoding: 'UCS-2', segments: segmentInfo(text!.body).segments })
    const [event] = await db.sql`select outcome, sms_id, event_type from session_events where sms_id = ${res.body.sms_id as string}`
    expect(event).toMatchObject({ outcome: 'sent', event_type: 'error' })
  })

  it('done and waiting texts follow their templates', async () => {
    const s = await monitoredSession(server, db.sql, { description: 'Write docs', project: 'handbook' })
    expect((await sendEvent(server, s, { event_type: 'done', details: { hook_event_name: 'SessionEnd' } })).status).toBe(200)
    expect((await sendEvent(server, s, { event_type: 'waiting', details: { message: 'May I delete the old drafts?', notification_type: 'idle_prompt' } })).status).toBe(200)
    const [done, waiting] = textsTo(s.phone)
    expect(done!.body).toBe('✅ Claude: "Write docs"\nCompleted successfully!\nProject: handbook\n\nReply STOP to disable')
    expect(waiting!.body).toBe('⏳ Claude: "Write docs"\nWaiting for input (10 min idle)\n💬 May I delete the old drafts?\nProject: handbook\n\nReply STOP to disable')
  })

  it('secrets in the error never reach the phone', async () => {
    const s = await monitoredSession(server, db.sql)
    await sendEvent(server, s, {
      event_type: 'error',
      details: { error: 'curl -H "Authorization: Bearer sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" https://admin:hunter2@x.dev failed' },
    })
    const [text] = textsTo(s.phone)
    expect(text!.body).not.toContain('sk-ant-api03')
    expect(text!.body).not.toContain('hunter2')
    expect(text!.body).toContain('[redacted]')
    const [row] = await db.sql`select body from sms_messages where provider_sid = ${text!.sid}`
    expect(row!.body).not.toContain('hunter2')
    // Nor are they stored with the event (the dashboard shows its details).
    const [event] = await db.sql`select details from session_events where session_id = ${s.id}`
    expect(JSON.stringify(event!.details)).not.toMatch(/hunter2|sk-ant-api03/)
    expect(event!.details.error).toContain('https://[redacted]@x.dev')
  })
})

describe('one text per 30 minutes per user and event type', () => {
  it('a second error within 30 minutes is not texted, and the next error text says how many were held back', async () => {
    const s = await monitoredSession(server, db.sql)
    const first = await sendEvent(server, s, { event_type: 'error', details: { error: 'first' } })
    expect(first.status).toBe(200)
    const sentAt = clock.now()

    clock.advance(5 * 60_000)
    const second = await sendEvent(server, s, { event_type: 'error', details: { error: 'second' } })
    expect(second.status).toBe(429)
    expect(EventLimitedResponse.parse(second.body)).toEqual({
      sms_sent: false,
      rate_limited: true,
      next_allowed_at: new Date(sentAt.getTime() + 30 * 60_000).toISOString(),
      retry_after: 25 * 60,
    })
    expect(second.headers.get('retry-after')).toBe('1500')
    expect(second.body.error).toBe('rate_limited')

    // Another type has its own allowance.
    expect((await sendEvent(server, s, { event_type: 'done' })).status).toBe(200)

    // The same user from another session shares the limit.
    const other = await monitoredSession(server, db.sql, { user: s, description: 'Other work' })
    expect((await sendEvent(server, other, { event_type: 'error', details: { error: 'third' } })).status).toBe(429)
    expect(textsTo(s.phone)).toHaveLength(2)

    clock.advance(26 * 60_000)
    const later = await sendEvent(server, s, { event_type: 'error', details: { error: 'fourth' } })
    expect(later.status).toBe(200)
    const last = textsTo(s.phone).at(-1)!
    expect(last.body).toContain('Error: fourth')
    expect(last.body).toContain('+2 more since 12:05 UTC')

    // Told once: the text after that does not repeat the count.
    clock.advance(31 * 60_000)
    await sendEvent(server, s, { event_type: 'error', details: { error: 'fifth' } })
    expect(textsTo(s.phone).at(-1)!.body).not.toContain('more since')
  })

  it('50 identical events at once on two server processes give exactly one text', async () => {
    const poolA = createSql(db.url)
    const poolB = createSql(db.url)
    const a = await startTestServer({ sql: poolA, twilio, clock, name: 'monitoring-events-a' })
    const b = await startTestServer({ sql: poolB, twilio, clock, name: 'monitoring-events-b' })
    try {
      const s = await monitoredSession(a, poolA)
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => sendEvent(i % 2 ? b : a, s, { event_type: 'error', event_id: randomUUID(), details: { error: `failure ${i}` } })),
      )
      expect(results.filter((r) => r.status === 200)).toHaveLength(1)
      expect(results.filter((r) => r.status === 429)).toHaveLength(49)
      expect(textsTo(s.phone)).toHaveLength(1)
      const [counts] = await db.sql`select count(*)::int as n, count(*) filter (where outcome = 'rate_limited')::int as held from session_events where user_id = ${s.userId}`
      expect(counts).toEqual({ n: 50, held: 49 })

      clock.advance(31 * 60_000)
      expect((await sendEvent(b, s, { event_type: 'error', details: { error: 'after the burst' } })).status).toBe(200)
      expect(textsTo(s.phone).at(-1)!.body).toContain('+49 more since')
    } finally {
      await a.close()
      await b.close()
      await poolA.end()
      await poolB.end()
    }
  })
})

describe('the per-address request limit', () => {
  it('does not apply to events, whose 429 always carries next_allowed_at', async () => {
    const limited = await startTestServer({ sql: db.sql, twilio, clock, name: 'monitoring-events-ip', ipRateLimit: { limit: 3 } })
    try {
      const s = await monitoredSession(limited, db.sql)
      const answers = await Promise.all(Array.from({ length: 6 }, () => sendEvent(limited, s, { event_type: 'error', details: { error: 'x' } })))
      expect(answers.filter((a) => a.status === 200)).toHaveLength(1)
      for (const a of answers.filter((x) => x.status === 429)) expect(a.body).toMatchObject({ rate_limited: true, next_allowed_at: expect.any(String) })
      // Valid heartbeats are not counted either (every session of a computer beats from its one
      // address); those with a bad token are: the start and two of them use up the 3.
      const hb = (token: string) => fetch(`${limited.url}/sessions/${s.id}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ timestamp: clock.now().toISOString() }) })
      for (let i = 0; i < 4; i++) expect((await hb(s.token)).status).toBe(200)
      expect((await hb('not-the-token')).status).toBe(401)
      expect((await hb('not-the-token')).status).toBe(401)
      expect((await hb('not-the-token')).status).toBe(429)
      expect((await hb(s.token)).status).toBe(200)
    } finally {
      await limited.close()
    }
  })
})

describe('a repeated event_id', () => {
  it('is answered with the first answer and never texted twice', async () => {
    const s = await monitoredSession(server, db.sql)
    const eventId = randomUUID()
    const first = await sendEvent(server, s, { event_type: 'waiting', event_id: eventId, details: { message: 'Continue?' } })
    const again = await sendEvent(server, s, { event_type: 'waiting', event_id: eventId, details: { message: 'Continue?' } })
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.body).toEqual(first.body)
    expect(textsTo(s.phone)).toHaveLength(1)

    const limitedId = randomUUID()
    const limited = await sendEvent(server, s, { event_type: 'waiting', event_id: limitedId })
    const limitedAgain = await sendEvent(server, s, { event_type: 'waiting', event_id: limitedId })
    expect(limited.status).toBe(429)
    expect(limitedAgain.status).toBe(429)
    expect(limitedAgain.body.next_allowed_at).toBe(limited.body.next_allowed_at)
    const [row] = await db.sql`select count(*)::int as n from session_events where session_id = ${s.id}`
    expect(row!.n).toBe(2)
  })

  it('left pending by a server process that died, it is handled by the retry', async () => {
    const s = await monitoredSession(server, db.sql)
    const eventId = randomUUID()
    await db.sql`
      insert into session_events (session_id, user_id, event_id, event_type, occurred_at, received_at)
      values (${s.id}, ${s.userId}, ${eventId}, 'done', ${clock.now()}, ${new Date(clock.now().getTime() - 60_000)})`
    const res = await sendEvent(server, s, { event_type: 'done', event_id: eventId })
    expect(res.status).toBe(200)
    expect(res.body.sms_sent).toBe(true)
    expect(textsTo(s.phone)).toHaveLength(1)
  })

  it('sent ten times at once still gives one text and one answer', async () => {
    const s = await monitoredSession(server, db.sql)
    const eventId = randomUUID()
    const results = await Promise.all(Array.from({ length: 10 }, () => sendEvent(server, s, { event_type: 'done', event_id: eventId })))
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200))
    expect(new Set(results.map((r) => r.body.sms_id)).size).toBe(1)
    expect(textsTo(s.phone)).toHaveLength(1)
  })
})

describe('when the provider says no', () => {
  it('21610 (the number replied STOP at Twilio) marks the user opted out, and nothing more is sent', async () => {
    const s = await monitoredSession(server, db.sql, { phone: '+15005550004' })
    const before = twilio.attempts
    const res = await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ sms_sent: false, rate_limited: false, reason: 'opted_out' })
    const [user] = await db.sql`select opted_out_at from users where id = ${s.userId}`
    expect(user!.opted_out_at).toBeInstanceOf(Date)
    const next = await sendEvent(server, s, { event_type: 'done' })
    expect(next.body).toMatchObject({ sms_sent: false, reason: 'opted_out' })
    expect(twilio.attempts).toBe(before + 1)
  })

  it.each([
    ['+15005550001', 21211],
    ['+15005550009', 21614],
    ['+15005550003', 21408],
    ['+15005550002', 21612],
  ])('%s (%i) is permanent: tried once, not retried, the slot given back', async (phone, code) => {
    await db.sql`delete from users where phone_e164 = ${phone}`
    const s = await monitoredSession(server, db.sql, { phone })
    const before = twilio.attempts
    const res = await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ sms_sent: false, rate_limited: false, reason: 'undeliverable' })
    expect(twilio.attempts).toBe(before + 1)
    const [row] = await db.sql`select status, error_code from sms_messages where id = ${res.body.sms_id as string}`
    expect(row).toEqual({ status: 'failed', error_code: code })
    // The limit was given back: the next error is tried (and is not a 429).
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'y' } })).status).toBe(200)
    expect(twilio.attempts).toBe(before + 2)
    const [user] = await db.sql`select opted_out_at from users where id = ${s.userId}`
    expect(user!.opted_out_at).toBeNull()
  })

  it('a provider outage answers 503 with Retry-After; a retry of the same event_id is texted then', async () => {
    const s = await monitoredSession(server, db.sql)
    const eventId = randomUUID()
    twilio.failNext(3, { status: 500 })
    const failed = await sendEvent(server, s, { event_type: 'error', event_id: eventId, details: { error: 'disk full' } })
    expect(failed.status).toBe(503)
    expect(failed.body.error).toBe('service_unavailable')
    expect(failed.headers.get('retry-after')).toBe('30')
    expect(textsTo(s.phone)).toHaveLength(0)

    const retried = await sendEvent(server, s, { event_type: 'error', event_id: eventId, details: { error: 'disk full' } })
    expect(retried.status).toBe(200)
    expect(retried.body.sms_sent).toBe(true)
    expect(textsTo(s.phone)).toHaveLength(1)
    expect(textsTo(s.phone)[0]!.body).not.toContain('more since')
    // And that answer is now the one replayed.
    expect((await sendEvent(server, s, { event_type: 'error', event_id: eventId })).body).toEqual(retried.body)
  })

  it('a provider that does not answer never holds the events request past the send deadline', async () => {
    const slow = await startTestServer({ sql: db.sql, twilio, clock, name: 'monitoring-events-slow', sender: { deadlineMs: 300 } })
    const release = twilio.hold()
    try {
      const s = await monitoredSession(slow, db.sql)
      const res = await sendEvent(slow, s, { event_type: 'error', details: { error: 'x' } })
      // Answered while the provider is still holding every request.
      expect(res.status).toBe(503)
      expect(textsTo(s.phone)).toHaveLength(0)
    } finally {
      release()
      await slow.close()
    }
  })
})

describe('SMS_CHARSET=gsm7', () => {
  it('texts one plain GSM-7 segment', async () => {
    const gsm = await startTestServer({ sql: db.sql, twilio, clock, name: 'monitoring-events-gsm', env: { SMS_CHARSET: 'gsm7' } })
    try {
      const s = await monitoredSession(gsm, db.sql, { description: 'Übersetzung “prüfen” 🚀 and a long description that goes on' })
      const res = await sendEvent(gsm, s, { event_type: 'error', details: { error: 'E'.repeat(500) } })
      expect(res.status).toBe(200)
      const [text] = textsTo(s.phone)
      expect(text!.body).toMatch(/^Claude: "Übersetzung "prüfen" \?/)
      expect(text!.body.endsWith('Reply STOP to disable')).toBe(true)
      const [row] = await db.sql`select encoding, segments from sms_messages where id = ${res.body.sms_id as string}`
      expect(row).toEqual({ encoding: 'GSM-7', segments: 1 })
    } finally {
      await gsm.close()
    }
  })
})
