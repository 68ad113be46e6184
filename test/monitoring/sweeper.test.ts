import { describe, expect, it } from 'vitest'
import type { Sql } from 'postgres'
import { manualClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { createSweeper } from '../../server/monitoring/sweeper.js'
import { createNotifier } from '../../server/sms/notifier.js'
import { createSmsSender } from '../../server/sms/sender.js'
import { createTwilioTransport } from '../../server/sms/twilio.js'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { TWILIO_FROM, useTestServer, useTwilioEndpoint } from '../support/server.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'monitoring-sweeper' }))

/** A sweeper as a server process builds it: its own pool, sender and notifier, the shared manual clock. */
function sweeperOn(sql: Sql) {
  const transport = createTwilioTransport({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: { phoneNumber: TWILIO_FROM }, apiBase: twilio.baseUrl })
  const sms = createSmsSender({ sql, transport, log: server.log, pepper: server.config.pepper, backoffMs: () => 1 })
  return createSweeper({ sql, clock, log: server.log, notifier: createNotifier({ sql, sms, clock, log: server.log, charset: 'unicode' }) })
}

const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)
const statusOf = async (id: string) => (await db.sql`select status from monitoring_sessions where id = ${id}`)[0]!.status as string

describe('a session that stops sending heartbeats', () => {
  it('goes stale after three missed intervals and the user gets one "went dark" text', async () => {
    const sweeper = sweeperOn(db.sql)
    const s = await monitoredSession(server, db.sql, { description: 'Nightly build', project: 'ci', heartbeat_interval_ms: 10_000 })
    clock.advance(29_000)
    expect((await sweeper.sweep()).stale).not.toContain(s.id)
    expect(await statusOf(s.id)).toBe('active')

    clock.advance(2_000)
    const result = await sweeper.sweep()
    expect(result.stale).toContain(s.id)
    expect(await statusOf(s.id)).toBe('stale')
    const texts = textsTo(s.phone)
    expect(texts).toHaveLength(1)
    expect(texts[0]!.body).toBe('📴 Claude: "Nightly build"\nWent dark: no heartbeat for 31 s\nProject: ci\n\nReply STOP to disable')

    clock.advance(60_000)
    expect((await sweeper.sweep()).stale).not.toContain(s.id)
    expect(textsTo(s.phone)).toHaveLength(1)
  })

  it('a heartbeat revives a stale session; STATUS-worthy state follows', async () => {
    const sweeper = sweeperOn(db.sql)
    const s = await monitoredSession(server, db.sql) // default interval: 30 s
    clock.advance(89_000)
    expect((await sweeper.sweep()).stale).not.toContain(s.id)
    clock.advance(2_000)
    expect((await sweeper.sweep()).stale).toContain(s.id)

    const hb = await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: clock.now().toISOString() } })
    expect(hb.status).toBe(200)
    expect(hb.body).toEqual({ status: 'active', monitoring: true })
    expect(await statusOf(s.id)).toBe('active')
    clock.advance(60_000)
    expect((await sweeper.sweep()).stale).not.toContain(s.id)
  })

  it('"went dark" is rate limited as its own type and does not use up the error allowance', async () => {
    const sweeper = sweeperOn(db.sql)
    const s = await monitoredSession(server, db.sql, { heartbeat_interval_ms: 10_000 })
    clock.advance(31_000)
    await sweeper.sweep()
    await api(server.url, 'POST', `/sessions/${s.id}/heartbeat`, { token: s.token, body: { timestamp: clock.now().toISOString() } })
    clock.advance(31_000)
    expect((await sweeper.sweep()).stale).toContain(s.id)
    expect(textsTo(s.phone)).toHaveLength(1)
    const [held] = await db.sql`select outcome from session_events where session_id = ${s.id} and event_type = 'went_dark' order by received_at desc limit 1`
    expect(held!.outcome).toBe('rate_limited')
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })).status).toBe(200)
  })

  it('sends nothing when the user turned went-dark alerts off', async () => {
    const sweeper = sweeperOn(db.sql)
    const s = await monitoredSession(server, db.sql, { heartbeat_interval_ms: 10_000 })
    await db.sql`insert into user_settings (user_id, went_dark_alerts) values (${s.userId}, false)`
    clock.advance(31_000)
    expect((await sweeper.sweep()).stale).toContain(s.id)
    expect(textsTo(s.phone)).toHaveLength(0)
  })

  it('with two server processes sweeping at once, each stale session is handled by exactly one', async () => {
    const poolA = createSql(db.url)
    const poolB = createSql(db.url)
    try {
      const a = sweeperOn(poolA)
      const b = sweeperOn(poolB)
      // Earlier tests' sessions are long stale already; only these are fresh.
      await Promise.all([a.sweep(), b.sweep()])
      const sessions = await Promise.all(Array.from({ length: 12 }, () => monitoredSession(server, db.sql, { heartbeat_interval_ms: 10_000 })))
      clock.advance(31_000)
      const [ra, rb] = await Promise.all([a.sweep(), b.sweep()])
      const all = [...ra.stale, ...rb.stale]
      expect(new Set(all).size).toBe(all.length)
      expect(all.sort()).toEqual(sessions.map((s) => s.id).sort())
      for (const s of sessions) expect(textsTo(s.phone)).toHaveLength(1)
    } finally {
      await poolA.end()
      await poolB.end()
    }
  })
})

describe('texts held during a pause', () => {
  it('are summarised in one text when the pause runs out', async () => {
    // Heartbeats every hour, so the session does not go dark (and text) during the pause.
    const s = await monitoredSession(server, db.sql, { heartbeat_interval_ms: 3_600_000 })
    const until = new Date(clock.now().getTime() + 60 * 60_000)
    await db.sql`update users set paused_until = ${until} where id = ${s.userId}`
    const held = await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    expect(held.status).toBe(200)
    expect(held.body).toEqual({ sms_sent: false, rate_limited: false, next_allowed_at: until.toISOString(), sms_id: null, reason: 'paused' })
    await sendEvent(server, s, { event_type: 'done' })
    await sendEvent(server, s, { event_type: 'error', details: { error: 'y' } })
    expect(textsTo(s.phone)).toHaveLength(0)

    const poolB = createSql(db.url)
    try {
      clock.advance(61 * 60_000)
      const [ra, rb] = await Promise.all([sweeperOn(db.sql).sweep(), sweeperOn(poolB).sweep()])
      expect(ra.digests + rb.digests).toBe(1)
    } finally {
      await poolB.end()
    }
    const texts = textsTo(s.phone)
    expect(texts).toHaveLength(1)
    expect(texts[0]!.body).toContain('While paused (since 12:')
    expect(texts[0]!.body).toContain('2 errors, 1 done')
    expect((await sweeperOn(db.sql).sweep()).digests).toBe(0)

    // Told once: the next error text does not count them again.
    await sendEvent(server, s, { event_type: 'error', details: { error: 'z' } })
    expect(textsTo(s.phone).at(-1)!.body).not.toMatch(/more since|Held back/)
  })

  it('or by the next text, when an event comes before the sweeper', async () => {
    const s = await monitoredSession(server, db.sql, { heartbeat_interval_ms: 3_600_000 })
    await db.sql`update users set paused_until = ${new Date(clock.now().getTime() + 30 * 60_000)} where id = ${s.userId}`
    await sendEvent(server, s, { event_type: 'waiting', details: { message: 'Proceed?' } })
    await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    clock.advance(31 * 60_000)
    expect((await sendEvent(server, s, { event_type: 'done' })).status).toBe(200)
    const [text] = textsTo(s.phone)
    expect(text!.body).toMatch(/Held back since \d\d:\d\d UTC: 1 error, 1 waiting/)
    expect((await sweeperOn(db.sql).sweep()).digests).toBe(0)
    expect(textsTo(s.phone)).toHaveLength(1)
  })
})
