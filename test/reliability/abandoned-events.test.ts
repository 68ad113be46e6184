import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createSql, PROCESS_NAME } from '../../server/db/connect.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'

// An event whose handling was cut off (the server process crashed, or the database went away in the
// middle of the request) stays pending with no answer. The plugin's outbox retries it with the same
// event_id: the retry takes it over as soon as its handler is known to be gone, not 30 s later.

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'abandoned-events' }))

const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)

/** A pending event as a handler left it, `ageMs` ago. */
async function leftPending(handler: string, ageMs: number) {
  const s = await monitoredSession(server, db.sql)
  const eventId = randomUUID()
  await db.sql`
    insert into session_events (session_id, user_id, event_id, event_type, occurred_at, received_at, handler)
    values (${s.id}, ${s.userId}, ${eventId}, 'error', now(), ${new Date(Date.now() - ageMs)}, ${handler})`
  return { s, eventId }
}

describe('a retry of an event whose handling was cut off', () => {
  it('is texted at once when the process that handled it has crashed (no connection to the database)', async () => {
    const { s, eventId } = await leftPending('claude-sms-notifier/a-process-that-crashed', 6_000)
    const res = await sendEvent(server, s, { event_type: 'error', event_id: eventId, details: { error: 'disk full' } })
    expect(res.status).toBe(200)
    expect(res.body.sms_sent).toBe(true)
    expect(textsTo(s.phone)).toHaveLength(1)
  })

  it('is texted at once when this very process gave up on it (its request failed mid-way)', async () => {
    const { s, eventId } = await leftPending(PROCESS_NAME, 0)
    const res = await sendEvent(server, s, { event_type: 'error', event_id: eventId })
    expect(res.status).toBe(200)
    expect(textsTo(s.phone)).toHaveLength(1)
  })

  it('waits (409, retry) while the process handling it is still connected', async () => {
    const otherProcess = `claude-sms-notifier/${randomUUID()}`
    const other = createSql(db.url, { max: 1 })
    try {
      await other.unsafe(`set application_name = '${otherProcess}'`)
      const { s, eventId } = await leftPending(otherProcess, 6_000)
      const res = await sendEvent(server, s, { event_type: 'error', event_id: eventId })
      expect(res.status).toBe(409)
      expect(res.headers.get('retry-after')).toBeTruthy()
      expect(textsTo(s.phone)).toHaveLength(0)
    } finally {
      await other.end()
    }
  })
})
