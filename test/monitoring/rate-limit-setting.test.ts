import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
let twilio: TwilioEndpoint
const servers: TestServer[] = []

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
})
afterAll(async () => {
  for (const s of servers) await s.close()
  await twilio?.close()
})

async function serverWith(minutes: string) {
  const server = await startTestServer({ sql: db.sql, twilio, clock, name: `rate-limit-${minutes}`, env: { SMS_RATE_LIMIT_MINUTES: minutes } })
  servers.push(server)
  return server
}

describe('SMS_RATE_LIMIT_MINUTES', () => {
  it('sets the window: with 5 minutes a second error is held until 5 minutes have passed', async () => {
    const server = await serverWith('5')
    const s = await monitoredSession(server, db.sql)
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'first' } })).status).toBe(200)
    clock.advance(4 * 60_000)
    const held = await sendEvent(server, s, { event_type: 'error', details: { error: 'second' } })
    expect(held.status).toBe(429)
    expect(held.body.retry_after).toBe(60)
    clock.advance(60_000)
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'third' } })).status).toBe(200)
    expect(twilio.messages.filter((m) => m.to === s.phone)).toHaveLength(2)
  })

  it('0 turns the limit off: every event is texted', async () => {
    const server = await serverWith('0')
    const s = await monitoredSession(server, db.sql)
    for (const error of ['one', 'two', 'three']) expect((await sendEvent(server, s, { event_type: 'error', details: { error } })).status).toBe(200)
    expect(twilio.messages.filter((m) => m.to === s.phone)).toHaveLength(3)
  })
})
