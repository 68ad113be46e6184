import { describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'

const db = useTestDatabase()
const clock = manualClock(new Date())
const twilio = useTwilioEndpoint()
// Five requests per minute per address (IP_RATE_LIMIT_PER_MINUTE), so that a handful shows the limit.
const LIMIT = 5
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'monitoring-unauthenticated', ipRateLimit: { limit: LIMIT } }))

let addresses = 0
const newAddress = () => `203.0.113.${++addresses}`

function post(path: string, from: string, token: string | undefined, body: unknown) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
}
const heartbeat = (id: string, from: string, token?: string) => post(`/sessions/${id}/heartbeat`, from, token, { timestamp: clock.now().toISOString(), last_activity: clock.now().toISOString() })
const event = (id: string, from: string, token?: string) => post(`/sessions/${id}/events`, from, token, { event_type: 'error', timestamp: clock.now().toISOString(), details: { tool_name: 'Bash', error: 'exit 1' } })

describe('event and heartbeat requests without a valid session token count against the address (IP_RATE_LIMIT_PER_MINUTE)', () => {
  it('guessing session tokens is cut off at the limit, with 429 rate_limited', async () => {
    clock.advance(60_000)
    const session = await monitoredSession(server, db.sql)
    const attacker = newAddress()
    const statuses: number[] = []
    for (let i = 0; i < LIMIT; i++) statuses.push((await (i % 2 ? heartbeat : event)(session.id, attacker, `guess-${i}`)).status)
    expect(statuses).toEqual(Array(LIMIT).fill(401))

    for (const refused of [await event(session.id, attacker, 'guess-x'), await heartbeat(session.id, attacker), await event(session.id, attacker)]) {
      expect(refused.status).toBe(429)
      expect(refused.headers.get('retry-after')).toBe('60')
      expect(ErrorBody.parse(await refused.json()).error).toBe('rate_limited')
    }
    // Another session's token on this id, or an id that does not exist, counts too.
    const other = await monitoredSession(server, db.sql)
    const prober = newAddress()
    for (let i = 0; i < LIMIT; i++) expect((await heartbeat(session.id, prober, other.token)).status).toBe(404)
    expect((await heartbeat(session.id, prober, other.token)).status).toBe(429)

    // The next minute the address is heard again.
    clock.advance(60_000)
    expect((await heartbeat(session.id, attacker, 'guess-y')).status).toBe(401)
  })

  it('valid events and heartbeats are never counted, even from an address that is over the limit', async () => {
    clock.advance(60_000)
    const session = await monitoredSession(server, db.sql)
    const laptop = newAddress()
    // Many sessions on one computer beat from one address: far more than the limit is fine.
    for (let i = 0; i < 3 * LIMIT; i++) expect((await heartbeat(session.id, laptop, session.token)).status).toBe(200)
    const texted = await event(session.id, laptop, session.token)
    expect(texted.status).toBe(200)
    expect(((await texted.json()) as { sms_sent: boolean }).sms_sent).toBe(true)
    // The address has spent none of its requests on them.
    for (let i = 0; i < LIMIT; i++) expect((await heartbeat(session.id, laptop, 'bad')).status).toBe(401)
    expect((await heartbeat(session.id, laptop, 'bad')).status).toBe(429)
    // Over the limit, its valid requests still go through.
    expect((await heartbeat(session.id, laptop, session.token)).status).toBe(200)
  })
})
