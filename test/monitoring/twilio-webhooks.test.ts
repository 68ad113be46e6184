import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent, twilioPost } from '../support/monitoring.js'
import { TWILIO_FROM, useTestServer, useTwilioEndpoint, startTestServer } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'monitoring-twilio' }))

const inboundUrl = () => `${server.url}/twilio/inbound`
/** A text from a phone, as Twilio forwards it. */
function textFromPhone(from: string, body: string, signature: 'valid' | 'none' | 'wrong' = 'valid') {
  return twilioPost(
    twilio,
    inboundUrl(),
    { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: twilio.accountSid, From: from, To: TWILIO_FROM, Body: body, NumMedia: '0', NumSegments: '1', ApiVersion: '2010-04-01' },
    { signature },
  )
}
const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)
const userRow = async (id: string) => (await db.sql`select opted_out_at, paused_until from users where id = ${id}`)[0]!
const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

describe('POST /twilio/inbound signature', () => {
  it('refuses unsigned and wrongly signed requests with 403 JSON, and changes nothing', async () => {
    const s = await monitoredSession(server, db.sql)
    await db.sql`update users set paused_until = ${new Date('2026-03-01T13:00:00Z')} where id = ${s.userId}`
    for (const verb of ['STOP', 'START', 'HELP', 'STATUS', 'PAUSE 2h', 'RESUME']) {
      for (const mode of ['none', 'wrong'] as const) {
        const res = await textFromPhone(s.phone, verb, mode)
        expect(res.status).toBe(403)
        expect(res.type).toContain('application/json')
        expect(JSON.parse(res.text)).toMatchObject({ error: 'forbidden', request_id: expect.stringMatching(/^req_/) })
      }
    }
    expect(await userRow(s.userId)).toEqual({ opted_out_at: null, paused_until: new Date('2026-03-01T13:00:00Z') })
  })

  it('a signature for another URL does not count (PUBLIC_URL is what Twilio signs)', async () => {
    const params = { From: testPhone(), Body: 'HELP' }
    const res = await twilioPost(twilio, inboundUrl(), params, { signedFor: 'https://elsewhere.example/twilio/inbound' })
    expect(res.status).toBe(403)
  })

  it('answers 503 when this server has no Twilio account configured', async () => {
    const bare = await startTestServer({ sql: db.sql, clock, name: 'monitoring-twilio-bare' })
    try {
      for (const path of ['/twilio/inbound', '/twilio/status']) {
        const res = await twilioPost(twilio, `${bare.url}${path}`, { From: testPhone(), Body: 'STOP' })
        expect(res.status).toBe(503)
        expect(JSON.parse(res.text)).toMatchObject({ error: 'service_unavailable', message: expect.stringContaining('TWILIO_AUTH_TOKEN') })
      }
    } finally {
      await bare.close()
    }
  })
})

describe('replies from the phone', () => {
  it.each(['STOP', 'stopall', 'Unsubscribe', 'CANCEL', 'END', 'QUIT'])('%s opts out (empty TwiML; Twilio confirms), and START opts back in', async (word) => {
    const s = await monitoredSession(server, db.sql)
    const stop = await textFromPhone(s.phone, word)
    expect(stop.status).toBe(200)
    expect(stop.type).toContain('text/xml')
    expect(stop.text).toBe(EMPTY)
    expect((await userRow(s.userId)).opted_out_at).toBeInstanceOf(Date)

    const attempts = twilio.attempts
    const held = await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    expect(held.body).toMatchObject({ sms_sent: false, reason: 'opted_out' })
    expect(twilio.attempts).toBe(attempts)

    const start = await textFromPhone(s.phone, 'START')
    expect(start.text).toBe(EMPTY)
    expect((await userRow(s.userId)).opted_out_at).toBeNull()
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'y' } })).body.sms_sent).toBe(true)
  })

  it('YES and UNSTOP opt back in too', async () => {
    const s = await monitoredSession(server, db.sql)
    for (const word of ['YES', 'unstop']) {
      await textFromPhone(s.phone, 'STOP')
      await textFromPhone(s.phone, word)
      expect((await userRow(s.userId)).opted_out_at).toBeNull()
    }
  })

  it('HELP lists what the user can text back', async () => {
    const s = await monitoredSession(server, db.sql)
    const res = await textFromPhone(s.phone, 'help')
    expect(res.text).toMatch(/<Response><Message>.*STATUS.*PAUSE 2h.*RESUME.*STOP.*START.*<\/Message><\/Response>/)
  })

  it('STATUS lists the monitored sessions', async () => {
    const s = await monitoredSession(server, db.sql, { description: 'Refactor auth', project: 'api' })
    const docs = await monitoredSession(server, db.sql, { user: s, description: 'Write docs', project: 'handbook' })
    const stopped = await monitoredSession(server, db.sql, { user: s, description: 'Finished work' })
    await db.sql`update monitoring_sessions set status = 'stale', last_heartbeat_at = ${new Date('2026-03-01T11:58:00Z')} where id = ${docs.id}`
    await db.sql`update monitoring_sessions set status = 'stopped' where id = ${stopped.id}`
    const res = await textFromPhone(s.phone, 'STATUS')
    expect(res.text).toContain('2 sessions monitored:')
    expect(res.text).toContain('- "Refactor auth" (api): active')
    expect(res.text).toContain('- "Write docs" (handbook): went dark, last heartbeat 11:58 UTC')
    expect(res.text).not.toContain('Finished work')
    const other = await monitoredSession(server, db.sql)
    expect((await textFromPhone(other.phone, 'STATUS')).text).toContain('1 session monitored:')
  })

  it('PAUSE 2h holds texts; RESUME ends the pause and its reply summarises what was held', async () => {
    const s = await monitoredSession(server, db.sql)
    const pause = await textFromPhone(s.phone, 'PAUSE 2h')
    expect(pause.text).toContain('Texts paused until 14:00 UTC')
    expect((await userRow(s.userId)).paused_until!.toISOString()).toBe('2026-03-01T14:00:00.000Z')
    expect((await textFromPhone(s.phone, 'status')).text).toContain('Texts paused until 14:00 UTC')

    const held = await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })
    expect(held.body).toMatchObject({ sms_sent: false, rate_limited: false, reason: 'paused', next_allowed_at: '2026-03-01T14:00:00.000Z' })
    await sendEvent(server, s, { event_type: 'waiting', details: { message: 'ok?' } })
    expect(textsTo(s.phone)).toHaveLength(0)

    const resume = await textFromPhone(s.phone, 'RESUME')
    expect(resume.text).toContain('Texts resumed.')
    expect(resume.text).toContain('1 error, 1 waiting')
    expect((await userRow(s.userId)).paused_until).toBeNull()

    const after = await sendEvent(server, s, { event_type: 'error', details: { error: 'after' } })
    expect(after.body.sms_sent).toBe(true)
    expect(textsTo(s.phone)[0]!.body).not.toMatch(/more since|Held back/)
    expect((await textFromPhone(s.phone, 'RESUME')).text).toContain('Nothing was held back')
  })

  it('PAUSE takes 30m and 1d; a pause it cannot read gets the usage', async () => {
    const s = await monitoredSession(server, db.sql)
    await textFromPhone(s.phone, 'pause 30m')
    expect((await userRow(s.userId)).paused_until!.toISOString()).toBe('2026-03-01T12:30:00.000Z')
    await textFromPhone(s.phone, 'PAUSE 1d')
    expect((await userRow(s.userId)).paused_until!.toISOString()).toBe('2026-03-02T12:00:00.000Z')
    expect((await textFromPhone(s.phone, 'PAUSE soon')).text).toContain('PAUSE 30m')
  })

  it('a number that is not paired is told so, and STOP from it is accepted silently', async () => {
    const stranger = testPhone()
    expect((await textFromPhone(stranger, 'STATUS')).text).toContain('not paired')
    expect((await textFromPhone(stranger, 'STOP')).text).toBe(EMPTY)
  })

  it('rejects a form without From with 400 JSON', async () => {
    const res = await twilioPost(twilio, inboundUrl(), { Body: 'STOP' })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.text).error).toBe('invalid_request')
  })
})

describe('POST /twilio/status (delivery receipts)', () => {
  async function textedSid() {
    const s = await monitoredSession(server, db.sql)
    const res = await sendEvent(server, s, { event_type: 'done' })
    const text = textsTo(s.phone).at(-1)!
    return { s, sid: text.sid, smsId: res.body.sms_id as string }
  }
  const rowOf = async (smsId: string) => (await db.sql`select status, error_code from sms_messages where id = ${smsId}`)[0]!

  it('records sent then delivered; late or repeated receipts never step back', async () => {
    const { sid, smsId } = await textedSid()
    expect((await twilio.postStatus(sid, 'sent')).status).toBe(204)
    expect(await rowOf(smsId)).toEqual({ status: 'sent', error_code: null })
    await twilio.postStatus(sid, 'delivered')
    await twilio.postStatus(sid, 'sent')
    await twilio.postStatus(sid, 'queued')
    await twilio.postStatus(sid, 'delivered')
    expect((await rowOf(smsId)).status).toBe('delivered')
  })

  it('receipts arriving out of order end in the final state', async () => {
    const { sid, smsId } = await textedSid()
    await twilio.postStatus(sid, 'undelivered', { errorCode: 30003 })
    await twilio.postStatus(sid, 'sent')
    await twilio.postStatus(sid, 'queued')
    expect(await rowOf(smsId)).toEqual({ status: 'undelivered', error_code: 30003 })
    await twilio.postStatus(sid, 'delivered')
    expect((await rowOf(smsId)).status).toBe('undelivered')
  })

  it('a failed receipt with 21610 or 30004 marks the user opted out', async () => {
    for (const code of [21610, 30004]) {
      const { s, sid, smsId } = await textedSid()
      await twilio.postStatus(sid, 'failed', { errorCode: code })
      expect(await rowOf(smsId)).toEqual({ status: 'failed', error_code: code })
      expect((await userRow(s.userId)).opted_out_at).toBeInstanceOf(Date)
    }
  })

  it('a failed receipt for an unreachable handset does not opt the user out', async () => {
    const { s, sid } = await textedSid()
    await twilio.postStatus(sid, 'failed', { errorCode: 30003 })
    expect((await userRow(s.userId)).opted_out_at).toBeNull()
  })

  it('refuses unsigned or tampered receipts', async () => {
    const { sid, smsId } = await textedSid()
    expect((await twilio.postStatus(sid, 'failed', { tamper: true })).status).toBe(403)
    const unsigned = await twilioPost(twilio, `${server.url}/twilio/status`, { MessageSid: sid, MessageStatus: 'failed' }, { signature: 'none' })
    expect(unsigned.status).toBe(403)
    expect((await rowOf(smsId)).status).toBe('queued')
  })

  it('ignores a receipt for a text it does not know', async () => {
    const res = await twilioPost(twilio, `${server.url}/twilio/status`, { MessageSid: `SM${randomBytes(16).toString('hex')}`, MessageStatus: 'delivered' })
    expect(res.status).toBe(204)
  })
})
