import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET, testConfig, TWILIO_FROM, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'

// Two built servers (real processes, as `npm start` runs them) on one database, the way a deployment
// with two instances behind a load balancer runs. The rate limit and the event_id dedupe live in
// PostgreSQL, so they hold across processes.

const db = useTestDatabase()
let twilio: TwilioEndpoint
const servers: SpawnedServer[] = []
let urls: string[] = []

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  for (let i = 0; i < 2; i++) {
    servers.push(
      spawnServer({
        PORT: '0',
        DATABASE_URL: db.url,
        JWT_SECRET: TEST_JWT_SECRET,
        ...twilio.serverEnv(TWILIO_FROM),
      }),
    )
  }
  urls = await Promise.all(servers.map(listeningUrl))
})

afterAll(async () => {
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM')
  await Promise.all(servers.map((s) => s.exited))
  await twilio?.close()
})

/** A session started on the first process; either process then takes its events. */
const session = () => monitoredSession({ url: urls[0]!, config: testConfig({ JWT_SECRET: TEST_JWT_SECRET }) } as TestServer, db.sql)
const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)

describe('two server processes on one database', () => {
  it('50 different error events at once, spread over both, give exactly one text; the rest are held and counted', async () => {
    const s = await session()
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sendEvent({ url: urls[i % 2]! }, s, { event_type: 'error', event_id: randomUUID(), details: { error: `failure ${i}` } })),
    )
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(results.filter((r) => r.status === 429)).toHaveLength(49)
    expect(textsTo(s.phone)).toHaveLength(1)
    const [counts] = await db.sql`select count(*)::int as n, count(*) filter (where outcome = 'rate_limited')::int as held from session_events where user_id = ${s.userId}`
    expect(counts).toEqual({ n: 50, held: 49 })
  })

  it('the same event sent 50 times at once to both is stored once, texted once, and answered alike', async () => {
    const s = await session()
    const eventId = randomUUID()
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => sendEvent({ url: urls[i % 2]! }, s, { event_type: 'done', event_id: eventId })))
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    expect(new Set(results.map((r) => r.body.sms_id)).size).toBe(1)
    expect(textsTo(s.phone)).toHaveLength(1)
    const [row] = await db.sql`select count(*)::int as n from session_events where user_id = ${s.userId}`
    expect(row!.n).toBe(1)
  })

  it('a session token stopped on one process is dead on the other', async () => {
    const s = await session()
    const stop = await api(urls[0]!, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'user_stopped', final_state: 'done', ended_at: new Date().toISOString() } })
    expect(stop.status).toBe(200)
    const after = await sendEvent({ url: urls[1]! }, s, { event_type: 'error', event_id: randomUUID() })
    expect(after.status).toBe(401)
    expect(textsTo(s.phone)).toHaveLength(0)
  })
})
