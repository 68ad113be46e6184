import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/db/embedded.js'
import { migrate } from '../../server/db/migrate.js'
import { driveSessions, type LoadSession } from '../support/load.js'
import { api } from '../support/monitoring.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET, testConfig, TWILIO_FROM } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { pairedUser, testPhone } from '../support/users.js'

// PostgreSQL goes away under load and comes back: the built server (a real process) answers 503
// while it is gone, never hangs or crashes, and carries on by itself once it is back. Nothing the
// server acknowledged is lost, and no text goes out twice.

const SESSIONS = 6
const EVENTS_PER_SESSION = 12

let dataDir: string
let pg: EmbeddedDatabase
let sql: Sql
let twilio: TwilioEndpoint
let server: SpawnedServer
let url: string

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'claude-sms-outage-'))
  pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), persistent: true })
  sql = createSql(pg.url, { max: 2 })
  await migrate(sql)
  twilio = await startTwilioEndpoint()
  server = spawnServer({
    PORT: '0',
    DATABASE_URL: pg.url,
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: dataDir,
    ...twilio.serverEnv(TWILIO_FROM),
  })
  url = await listeningUrl(server)
})

afterAll(async () => {
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGTERM')
    await server.exited
  }
  await sql?.end({ timeout: 5 })
  await pg?.stop()
  await twilio?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

async function startSessions(): Promise<LoadSession[]> {
  const config = testConfig({ JWT_SECRET: TEST_JWT_SECRET })
  const sessions: LoadSession[] = []
  for (let i = 0; i < SESSIONS; i++) {
    // A user per session: the text rate limit is per user and type, so texts can be counted.
    const phone = testPhone()
    const { accessToken } = await pairedUser(sql, config, { phone })
    const started = await api(url, 'POST', '/sessions/start', { token: accessToken, body: { claude_session_id: randomUUID(), description: `outage ${i}` } })
    expect(started.status).toBe(200)
    sessions.push({ id: started.body.monitoring_id as string, token: started.body.session_token as string, phone })
  }
  return sessions
}

describe('PostgreSQL stopped for a while under load', () => {
  it('answers 503 (healthz too) without crashing, recovers by itself, and loses nothing it acknowledged', async () => {
    const sessions = await startSessions()
    const driver = driveSessions(() => url, sessions, { eventsPerSession: EVENTS_PER_SESSION })
    // Every user's first error has been texted: the load is under way everywhere.
    await twilio.waitForMessages(SESSIONS, 30_000)
    await driver.acked(SESSIONS + 4)

    await pg.stop()
    driver.epoch = 1
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })
    expect(health.status).toBe(503)
    expect(health.headers.get('retry-after')).toBeTruthy()
    expect(await health.json()).toMatchObject({ error: 'service_unavailable', message: expect.any(String), details: expect.any(Object), request_id: expect.stringMatching(/^req_/) })
    const [s] = sessions
    const during = await api(url, 'POST', `/sessions/${s!.id}/heartbeat`, { token: s!.token, body: { timestamp: new Date().toISOString(), last_activity: null } })
    expect(during.status).toBe(503)
    expect(during.body).toMatchObject({ error: 'service_unavailable', request_id: expect.stringMatching(/^req_/) })
    await driver.failed()
    const ackedBefore = driver.acks.filter((a) => a.epoch === 0).map((a) => a.eventId)
    expect(server.proc.exitCode).toBeNull()

    pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), persistent: true, port: pg.port })
    driver.epoch = 2
    await driver.done
    expect((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(10_000) })).status).toBe(200)
    expect(server.proc.exitCode).toBeNull()

    // Only "the database is not answering" while it was gone (no 500, no other failure), and 409 "still
    // being handled" while a request cut off by the outage is still failing in the server.
    expect([...driver.failures.keys()].filter((status) => status !== 503 && status !== 409)).toEqual([])
    expect(driver.failures.get(503)).toBeGreaterThan(0)
    for (const body of driver.failureBodies) expect(JSON.parse(body)).toMatchObject({ error: 'service_unavailable', request_id: expect.stringMatching(/^req_/) })
    expect(server.lines.filter((l) => /"level":(50|60)/.test(l) && /unhandled error/.test(l))).toEqual([])

    // Every event is stored exactly once, those acknowledged before the outage included.
    const rows = await sql<{ event_id: string; n: number; outcome: string }[]>`
      select event_id, count(*)::int as n, min(outcome) as outcome from session_events where event_id is not null group by event_id`
    const stored = new Map(rows.map((r) => [r.event_id, r]))
    expect(driver.eventIds).toHaveLength(SESSIONS * EVENTS_PER_SESSION)
    expect(ackedBefore.filter((id) => !stored.has(id))).toEqual([])
    expect(driver.eventIds.filter((id) => stored.get(id)?.n !== 1)).toEqual([])
    expect(rows.filter((r) => r.outcome === 'pending')).toEqual([])

    // One error text per user, however many retries the outage caused.
    for (const { phone } of sessions) expect(twilio.messages.filter((m) => m.to === phone && m.body.startsWith('⚠️'))).toHaveLength(1)
  }, 180_000)
})
