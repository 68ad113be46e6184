import { describe, expect, it, onTestFinished } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { csrfOf, DashboardClient, openLiveStream } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent, twilioPost } from '../support/monitoring.js'
import { textFromPhone } from '../support/phone.js'
import { startTestServer, TWILIO_FROM, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { approvalSession, askApproval, pollApproval, pollIsWaiting, settleApproval } from '../approvals/support.js'
import { callSettings, escalationOf, MINUTE } from './support.js'

const db = useTestDatabase()
// Near the real date: the stats page counts this calendar month on a server that runs on the real clock.
const clock = manualClock(new Date())
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'voice' }))
// Dashboard cookies carry real expiry dates: pages are read from a server on the real clock.
const dashboardServer = useTestServer(() => ({ sql: db.sql, twilio, name: 'voice-dashboard' }))

const callsTo = (phone: string) => twilio.calls.filter((c) => c.to === phone)

/** A session with approvals on, calls for requests after `minutes`, and one request texted now. */
async function textedRequest(opts: { minutes?: number; summary?: string } = {}) {
  const s = await approvalSession(server, db.sql)
  await callSettings(db.sql, s.userId, { requests: true, minutes: opts.minutes ?? 10 })
  const asked = await askApproval(server, s, opts.summary ? { summary: opts.summary } : {})
  expect(asked.body).toMatchObject({ status: 'pending', sms_sent: true })
  return { s, approvalId: asked.body.approval_id as string }
}

describe('settings', () => {
  it('calls are off by default; the settings page turns them on for requests and waits apart, N between 5 and 120', async () => {
    const s = await approvalSession(server, db.sql)
    const dashboard = new DashboardClient(dashboardServer.url)
    await dashboard.signIn(s.phone, twilio)
    const page = await (await dashboard.get('/dashboard/settings')).text()
    expect(page).toContain('Call me when a request or a wait stays unanswered for')
    expect(page).toMatch(/name="call_after_minutes" min="5" max="120" step="1" value="15"/)
    expect(page).not.toMatch(/name="call_for_requests" id="call_for_requests" checked/)
    expect(page).toContain('Calls may break <b>quiet hours</b>')
    const form = { csrf: csrfOf(page), quiet_start: '22:00', quiet_end: '07:00', time_zone: 'UTC', done_threshold_minutes: '0', went_dark_alerts: 'on' }

    const tooSoon = await dashboard.post('/dashboard/settings', { ...form, call_for_requests: 'on', call_after_minutes: '3' })
    expect(tooSoon.status).toBe(400)
    expect(await tooSoon.text()).toContain('Calls come after at least 5 minutes.')
    expect((await dashboard.post('/dashboard/settings', { ...form, call_for_requests: 'on', call_after_minutes: '7' })).status).toBe(303)
    const saved = await (await dashboard.get('/dashboard/settings')).text()
    expect(saved).toMatch(/name="call_for_requests" id="call_for_requests" checked/)
    expect(saved).not.toMatch(/name="call_for_waits" id="call_for_waits" checked/)
    expect(saved).toMatch(/value="7"/)

    // Saved settings take effect: a request unanswered for 7 minutes is called about.
    const escalation = escalationOf(server, db.sql, clock)
    const asked = await askApproval(server, s)
    clock.advance(7 * MINUTE - 1_000)
    await escalation.sweep()
    expect(callsTo(s.phone)).toHaveLength(0)
    clock.advance(2_000)
    await escalation.sweep()
    expect(callsTo(s.phone)).toHaveLength(1)
    await settleApproval(server, s, asked.body.approval_id as string)
  })
})

describe('a request unanswered for N minutes', () => {
  it('gets one call, from the service number, after N minutes; two processes sweeping together place one call', async () => {
    const { s, approvalId } = await textedRequest({ minutes: 10, summary: 'npm publish --otp=123456 && curl -H "Authorization: Bearer abcdefghijk12345" x' })
    // Two server processes: each with its own connection pool to the one database.
    const otherProcess = createSql(db.url)
    onTestFinished(() => otherProcess.end())
    const a = escalationOf(server, db.sql, clock)
    const b = escalationOf(server, otherProcess, clock)
    clock.advance(9 * MINUTE)
    expect((await a.sweep()).placed).toBe(0)
    clock.advance(MINUTE + 1_000)
    const [ra, rb] = await Promise.all([a.sweep(), b.sweep()])
    expect(ra.placed + rb.placed).toBe(1)
    expect((await a.sweep()).placed + (await b.sweep()).placed).toBe(0)
    const [call] = callsTo(s.phone)
    expect(callsTo(s.phone)).toHaveLength(1)
    expect(call!.from).toBe(TWILIO_FROM)
    expect(call!.url).toMatch(new RegExp(`^${server.url}/twilio/voice/calls/[0-9a-f-]{36}$`))
    expect(call!.statusCallback).toBe(`${server.url}/twilio/voice/status`)
    expect(call!.statusCallbackEvents).toEqual(['initiated', 'ringing', 'answered', 'completed'])

    const answered = await twilio.answerCall(call!.sid)
    expect(answered.status).toBe(200)
    expect(answered.twiml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?><Response><Gather /)
    const words = answered.said.join(' ')
    expect(words).toContain('This is Claude Code, project api-server. Wants to run: npm publish')
    expect(words).toContain('Press 1 to allow, 2 to deny, 9 to hear it again.')
    expect(words).not.toContain('abcdefghijk12345')
    expect(answered.said.slice(0, 2).join(' ').split(/\s+/).length / 2.5).toBeLessThan(30)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('pending')
  })

  it('a very long request is clipped so the call lasts under 30 seconds', async () => {
    const long = Array.from({ length: 200 }, (_, i) => `step${i}`).join(' ')
    const { s, approvalId } = await textedRequest({ summary: `bash -c "${long}"` })
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const answered = await twilio.answerCall(callsTo(s.phone)[0]!.sid)
    // What the call reads out (the Gather's words): under 30 seconds at 2.5 words a second.
    const words = answered.said.slice(0, 2).join(' ')
    expect(words).toContain(', and more.')
    expect(words.split(/\s+/).length / 2.5).toBeLessThan(30)
    await settleApproval(server, s, approvalId)
  })

  it('keypress 1 allows: the plugin long-polling the request hears it; a replayed Gather and a later key change nothing', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const sid = callsTo(s.phone)[0]!.sid
    const answered = await twilio.answerCall(sid)
    const poll = pollApproval(server, s, approvalId, 25)
    await pollIsWaiting(server.logs.lines, approvalId)
    const pressed = await twilio.pressKey(sid, '1', answered)
    expect(pressed.said.join(' ')).toContain('Allowed.')
    const decided = await poll
    expect(decided.status).toBe(200)
    expect(decided.body).toMatchObject({ status: 'allowed', decided_by: 'phone' })

    const replay = await twilio.pressKey(sid, '1', answered)
    expect(replay.twiml).toBe(pressed.twiml)
    const late = await twilio.pressKey(sid, '2', answered)
    expect(late.said.join(' ')).toContain('This request was already allowed on a call.')
    expect((await pollApproval(server, s, approvalId)).body).toMatchObject({ status: 'allowed' })
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from voice_keypresses where call_sid = ${sid}`
    expect(row!.n).toBe(2)
  })

  it('keypress 2 denies, and Claude is told it was denied on a call; 9 reads the request again', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const sid = callsTo(s.phone)[0]!.sid
    const answered = await twilio.answerCall(sid)
    const again = await twilio.pressKey(sid, '9', answered)
    expect(again.said.join(' ')).toContain('Wants to run: npm test')
    expect(again.gatherAction).toBe(answered.gatherAction)
    const denied = await twilio.pressKey(sid, '2', again)
    expect(denied.said.join(' ')).toContain('Denied.')
    expect((await pollApproval(server, s, approvalId)).body).toMatchObject({ status: 'denied', decided_by: 'phone', message: expect.stringContaining('Denied by phone call to +1***') })
  })

  it('settled at the terminal before the call: no call at all; settled while the phone rang: the call says so and takes no key', async () => {
    const first = await textedRequest()
    await settleApproval(server, first.s, first.approvalId)
    clock.advance(11 * MINUTE)
    const escalation = escalationOf(server, db.sql, clock)
    await escalation.sweep()
    expect(callsTo(first.s.phone)).toHaveLength(0)

    const second = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalation.sweep()
    const [call] = callsTo(second.s.phone)
    await settleApproval(server, second.s, second.approvalId, { decision: 'denied' })
    const answered = await twilio.answerCall(call!.sid)
    expect(answered.said.join(' ')).toContain('This request was already denied at the terminal.')
    expect(answered.gatherAction).toBeUndefined()
  })

  it('a keypress after a text answered the request says it was settled by text', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const sid = callsTo(s.phone)[0]!.sid
    const answered = await twilio.answerCall(sid)
    const tag = (await pollApproval(server, s, approvalId)).body.tag as string
    expect((await textFromPhone(twilio, server, s.phone, `N ${tag}`)).reply).toContain('Denied')
    const pressed = await twilio.pressKey(sid, '1', answered)
    expect(pressed.said.join(' ')).toContain('This request was already denied by text.')
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('denied')
  })

  it('a server restart between placing the call and the keypress: another process takes the keypress', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const sid = callsTo(s.phone)[0]!.sid
    const answered = await twilio.answerCall(sid)
    const restarted = await startTestServer({ sql: db.sql, twilio, clock, name: 'voice-restarted' })
    try {
      const pressed = await twilio.pressKey(sid, '1', { ...answered, gatherAction: answered.gatherAction!.replace(server.url, restarted.url) })
      expect(pressed.said.join(' ')).toContain('Allowed.')
      expect((await pollApproval(restarted, s, approvalId)).body).toMatchObject({ status: 'allowed', decided_by: 'phone' })
    } finally {
      await restarted.close()
    }
  })
})

describe('what holds or stops calls', () => {
  it('quiet hours hold the call (even when waiting texts may go through) until "calls may break quiet hours" is chosen', async () => {
    const hour = clock.now().getUTCHours()
    const hh = (h: number) => `${String((h + 24) % 24).padStart(2, '0')}:00`
    const s = await approvalSession(server, db.sql)
    await db.sql`insert into user_settings (user_id, quiet_hours_enabled, quiet_start, quiet_end, time_zone, quiet_allow_waiting)
                 values (${s.userId}, true, ${hh(hour - 1)}, ${hh(hour + 3)}, 'UTC', true)`
    await callSettings(db.sql, s.userId, { requests: true, minutes: 5 })
    const asked = await askApproval(server, s)
    expect(asked.body).toMatchObject({ status: 'pending', sms_sent: true })
    clock.advance(6 * MINUTE)
    const escalation = escalationOf(server, db.sql, clock)
    expect(await escalation.sweep()).toMatchObject({ placed: 0, held: 1 })
    expect(callsTo(s.phone)).toHaveLength(0)
    await callSettings(db.sql, s.userId, { requests: true, minutes: 5, breakQuietHours: true })
    expect(await escalation.sweep()).toMatchObject({ placed: 1 })
    expect(callsTo(s.phone)).toHaveLength(1)
  })

  it('a keypress after "never accept approvals by text" was turned on, or after an opt-out, allows nothing', async () => {
    for (const turnOff of [
      (userId: string) => db.sql`insert into user_settings (user_id, approvals_disabled) values (${userId}, true) on conflict (user_id) do update set approvals_disabled = true`,
      (userId: string) => db.sql`update users set opted_out_at = now() where id = ${userId}`,
    ]) {
      const { s, approvalId } = await textedRequest()
      clock.advance(11 * MINUTE)
      await escalationOf(server, db.sql, clock).sweep()
      const sid = callsTo(s.phone)[0]!.sid
      const answered = await twilio.answerCall(sid)
      await turnOff(s.userId)
      const pressed = await twilio.pressKey(sid, '1', answered)
      expect(pressed.said.join(' ')).toContain('Nothing was decided.')
      expect(pressed.said.join(' ')).not.toContain('Allowed.')
      expect((await pollApproval(server, s, approvalId)).body).toMatchObject({ status: 'pending', decided_by: null })
    }
  })

  it('a pause holds the call; STOP means no call at all', async () => {
    const paused = await textedRequest({ minutes: 5 })
    await db.sql`update users set paused_until = ${new Date(clock.now().getTime() + 3_600_000)} where id = ${paused.s.userId}`
    const stopped = await textedRequest({ minutes: 5 })
    await textFromPhone(twilio, server, stopped.s.phone, 'STOP')
    clock.advance(6 * MINUTE)
    const escalation = escalationOf(server, db.sql, clock)
    expect(await escalation.sweep()).toMatchObject({ placed: 0, held: 1, refused: 1 })
    expect(callsTo(paused.s.phone)).toHaveLength(0)
    expect(callsTo(stopped.s.phone)).toHaveLength(0)
    clock.advance(60 * MINUTE)
    await escalation.sweep()
    expect(callsTo(paused.s.phone)).toHaveLength(1)
    expect(callsTo(stopped.s.phone)).toHaveLength(0)
  })

  it('the daily cap stops a runaway: past VOICE_DAILY_CAP calls in 24 hours, requests are not called about', async () => {
    const first = await textedRequest({ minutes: 5 })
    const other = await approvalSession(server, db.sql, { user: first.s })
    expect((await askApproval(server, other)).body).toMatchObject({ status: 'pending', sms_sent: true })
    clock.advance(6 * MINUTE)
    const escalation = escalationOf(server, db.sql, clock, { dailyCap: 1 })
    expect(await escalation.sweep()).toMatchObject({ placed: 1, refused: 1 })
    expect(callsTo(first.s.phone)).toHaveLength(1)
    const [capped] = await db.sql<{ status: string; outcome: string }[]>`select status, outcome from voice_calls where user_id = ${first.s.userId} and status = 'not_placed'`
    expect(capped).toEqual({ status: 'not_placed', outcome: 'daily_cap' })
  })
})

describe('a waiting text unanswered for N minutes', () => {
  it('gets a call that reads what Claude asks and says to answer at the terminal; none once the person is back', async () => {
    const s = await monitoredSession(server, db.sql)
    await callSettings(db.sql, s.userId, { waits: true, minutes: 15 })
    expect((await sendEvent(server, s, { event_type: 'waiting', details: { message: 'Should I deploy to production now?' } })).body).toMatchObject({ sms_sent: true })
    clock.advance(16 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const [call] = callsTo(s.phone)
    const answered = await twilio.answerCall(call!.sid)
    expect(answered.said.join(' ')).toContain('Claude is waiting for you. Should I deploy to production now?')
    expect(answered.said.join(' ')).toContain('Answer at the terminal')
    expect(answered.gatherAction).toBeUndefined()

    const back = await monitoredSession(server, db.sql)
    await callSettings(db.sql, back.userId, { waits: true, minutes: 15 })
    expect((await sendEvent(server, back, { event_type: 'waiting', details: { message: 'Which branch?' } })).body).toMatchObject({ sms_sent: true })
    clock.advance(MINUTE)
    const beat = await api(server.url, 'POST', `/sessions/${back.id}/heartbeat`, { token: back.token, body: { timestamp: clock.now().toISOString(), last_activity: clock.now().toISOString() } })
    expect(beat.status).toBe(200)
    clock.advance(16 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    expect(callsTo(back.phone)).toHaveLength(0)
  })
})

describe('voice webhooks', () => {
  it('status callbacks are stored, move forward only, and show on the session timeline live, with the keypress; stats count calls and minutes', async () => {
    const { s } = await textedRequest()
    const dashboard = new DashboardClient(dashboardServer.url)
    await dashboard.signIn(s.phone, twilio)
    const live = await openLiveStream(dashboardServer.url, dashboard.cookieHeader)
    try {
      clock.advance(11 * MINUTE)
      await escalationOf(server, db.sql, clock).sweep()
      const sid = callsTo(s.phone)[0]!.sid
      for (const status of ['initiated', 'ringing', 'in-progress']) expect((await twilio.postCallStatus(sid, status)).status).toBe(204)
      await live.readUntil(/"kind":"call"/)
      const answered = await twilio.answerCall(sid)
      await twilio.pressKey(sid, '1', answered)
      expect((await twilio.postCallStatus(sid, 'completed', { duration: 42 })).status).toBe(204)
      expect((await twilio.postCallStatus(sid, 'ringing')).status).toBe(204)
      const page = await (await dashboard.get(`/dashboard/sessions/${s.id}`)).text()
      expect(page).toContain('data-call-status="completed"')
      expect(page).toContain('data-keypress="1"')
      expect(page).toContain('Key pressed: <b>1</b> (allowed by the keypress)')
      // The request itself says how it was settled: on the call, not by a text.
      expect(page).toMatch(/data-approval-status="allowed" data-decided-by="phone">[\s\S]*?allowed on a phone call[\s\S]*?Settled on a phone call/)
      expect(page).not.toContain('allowed by text')
      expect(page).toContain('42 s')
      const stats = await (await dashboard.get('/dashboard/stats')).text()
      expect(stats).toMatch(/data-stat="month-calls"><b>1<\/b>/)
      expect(stats).toMatch(/data-stat="month-call-minutes"><b>1<\/b>/)
      expect(stats).toContain('VOICE_PRICE_PER_MINUTE')
    } finally {
      live.close()
    }
  })

  it('a call nobody answers is shown as such; the request stays open for the terminal or a text, and is not called about again', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    const escalation = escalationOf(server, db.sql, clock)
    await escalation.sweep()
    const sid = callsTo(s.phone)[0]!.sid
    expect((await twilio.postCallStatus(sid, 'ringing')).status).toBe(204)
    expect((await twilio.postCallStatus(sid, 'no-answer', { duration: 0 })).status).toBe(204)
    clock.advance(60 * MINUTE)
    await escalation.sweep()
    expect(callsTo(s.phone)).toHaveLength(1)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('pending')
    const [row] = await db.sql<{ status: string }[]>`select status from voice_calls where provider_sid = ${sid}`
    expect(row!.status).toBe('no-answer')
    await settleApproval(server, s, approvalId)
  })

  it('forged, unsigned or replayed-elsewhere voice webhooks get 403 and change nothing; bad input gets TwiML, never a stack trace', async () => {
    const { s, approvalId } = await textedRequest()
    clock.advance(11 * MINUTE)
    await escalationOf(server, db.sql, clock).sweep()
    const call = callsTo(s.phone)[0]!
    const answered = await twilio.answerCall(call.sid)
    const params = { CallSid: call.sid, AccountSid: twilio.accountSid, From: TWILIO_FROM, To: s.phone, CallStatus: 'in-progress', Digits: '1' }
    for (const signature of ['none', 'wrong'] as const) {
      const forged = await twilioPost(twilio, answered.gatherAction!, params, { signature })
      expect(forged.status).toBe(403)
      expect(JSON.parse(forged.text)).toMatchObject({ error: 'forbidden' })
    }
    expect((await twilioPost(twilio, `${server.url}/twilio/voice/status`, { CallSid: call.sid, CallStatus: 'completed' }, { signature: 'none' })).status).toBe(403)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('pending')
    // Signed for this server, but by another call: it cannot answer this one.
    const otherCall = await twilioPost(twilio, answered.gatherAction!, { ...params, CallSid: `CA${'0'.repeat(32)}` })
    expect(otherCall.status).toBe(200)
    expect(otherCall.text).toContain('Sorry, this call cannot go on.')
    const garbage = await twilioPost(twilio, answered.gatherAction!, { ...params, Digits: '<script>' })
    expect(garbage.status).toBe(200)
    expect(garbage.type).toContain('text/xml')
    expect(garbage.text).not.toMatch(/at .*\.ts:\d+/)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('pending')
    const get = await fetch(answered.gatherAction!)
    expect(get.status).toBe(405)
  })
})
