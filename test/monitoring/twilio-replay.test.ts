import { describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { approvalSession, askApproval, pollApproval } from '../approvals/support.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { textFromPhone } from '../support/phone.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'

// Anyone who captured a signed webhook can send it again (the signature covers the body, not the
// moment), and Twilio itself retries a webhook it got no answer to. A replay must change nothing.

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'twilio-replay' }))

const reply = (from: string, body: string, sid?: string) => textFromPhone(twilio, server, from, body, sid)
const userRow = async (id: string) => (await db.sql`select opted_out_at, paused_until from users where id = ${id}`)[0]!

describe('a replayed inbound text (same MessageSid)', () => {
  it('PAUSE is not extended by a replay, and the replay gets the first answer back', async () => {
    const s = await monitoredSession(server, db.sql)
    const first = await reply(s.phone, 'PAUSE 2h')
    expect(first.reply).toContain('Texts paused until 14:00 UTC')
    clock.advance(30 * 60_000)
    const replay = await reply(s.phone, 'PAUSE 2h', first.messageSid)
    expect(replay.text).toBe(first.text)
    expect((await userRow(s.userId)).paused_until).toEqual(new Date('2026-03-01T14:00:00Z'))
    // A new PAUSE (a new MessageSid) still works.
    await reply(s.phone, 'PAUSE 2h')
    expect((await userRow(s.userId)).paused_until).toEqual(new Date('2026-03-01T14:30:00Z'))
  })

  it('STOP is not re-applied after START', async () => {
    const s = await monitoredSession(server, db.sql)
    const stop = await reply(s.phone, 'STOP')
    expect((await userRow(s.userId)).opted_out_at).toBeInstanceOf(Date)
    await reply(s.phone, 'START')
    await reply(s.phone, 'STOP', stop.messageSid)
    expect((await userRow(s.userId)).opted_out_at).toBeNull()
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })).body.sms_sent).toBe(true)
  })

  it('a replayed bare "Y" does not allow the request texted after it', async () => {
    const s = await approvalSession(server, db.sql)
    const first = await askApproval(server, s)
    const yes = await reply(s.phone, 'Y')
    expect((await pollApproval(server, s, first.body.approval_id as string)).body.status).toBe('allowed')
    const second = await askApproval(server, s)
    expect(second.body.status).toBe('pending')
    const replay = await reply(s.phone, 'Y', yes.messageSid)
    expect(replay.text).toBe(yes.text)
    expect((await pollApproval(server, s, second.body.approval_id as string)).body.status).toBe('pending')
  })

  it('a bare "Y" sent twice (a new MessageSid each) does not allow the request texted in answer to the first', async () => {
    const s = await approvalSession(server, db.sql)
    const first = await askApproval(server, s)
    const second = await askApproval(server, s)
    expect(second.body.status).toBe('queued')
    await reply(s.phone, 'Y')
    expect((await pollApproval(server, s, first.body.approval_id as string)).body.status).toBe('allowed')
    const texted = (await pollApproval(server, s, second.body.approval_id as string)).body
    expect(texted.status).toBe('pending')
    clock.advance(5_000)
    const again = await reply(s.phone, 'Y')
    expect(again.reply).toContain(`add its tag. Waiting: ${texted.tag as string} (Bash)`)
    expect((await pollApproval(server, s, second.body.approval_id as string)).body.status).toBe('pending')
    // With its tag it is answered at once; a bare Y a while later, once it has been read, too.
    const third = await askApproval(server, s)
    expect((await reply(s.phone, `Y ${texted.tag as string}`)).reply).toContain('Allowed')
    clock.advance(3 * 60_000)
    expect((await reply(s.phone, 'Y')).reply).toBe(`Allowed Bash (${(await pollApproval(server, s, third.body.approval_id as string)).body.tag as string}).`)
  })

  it('a signed text without a MessageSid is refused with 400', async () => {
    const s = await monitoredSession(server, db.sql)
    const { twilioPost } = await import('../support/monitoring.js')
    const res = await twilioPost(twilio, `${server.url}/twilio/inbound`, { From: s.phone, Body: 'PAUSE 2h' })
    expect(res.status).toBe(400)
    expect((await userRow(s.userId)).paused_until).toBeNull()
  })
})

describe('a replayed delivery receipt (same MessageSid and status)', () => {
  it('an opt-out receipt replayed after START does not opt the number out again', async () => {
    const s = await monitoredSession(server, db.sql)
    await sendEvent(server, s, { event_type: 'done' })
    const sid = twilio.messages.filter((m) => m.to === s.phone).at(-1)!.sid
    await twilio.postStatus(sid, 'failed', { errorCode: 21610 })
    expect((await userRow(s.userId)).opted_out_at).toBeInstanceOf(Date)
    await reply(s.phone, 'START')
    expect((await twilio.postStatus(sid, 'failed', { errorCode: 21610 })).status).toBe(204)
    expect((await userRow(s.userId)).opted_out_at).toBeNull()
  })
})
