import { afterAll, beforeAll, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { startServer } from '../../server/server.js'
import { useTestDatabase } from '../support/db.js'
import { captureLog } from '../support/log.js'
import { monitoredSession } from '../support/monitoring.js'
import { testConfig, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'

const db = useTestDatabase()
let twilio: TwilioEndpoint

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
})
afterAll(() => twilio?.close())

it('npm start runs the sweeper: a silent session gets its went-dark text without anyone calling sweep()', async () => {
  const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
  const logs = captureLog('monitoring-server-sweeper')
  const config = testConfig({ DATABASE_URL: db.url, PORT: '0' }, twilio)
  const running = await startServer(config, logs.log, { clock, sweepIntervalMs: 25 })
  try {
    const server = { url: running.url, config } as TestServer
    const s = await monitoredSession(server, db.sql, { description: 'Left running', heartbeat_interval_ms: 1_000 })
    clock.advance(3_500)
    // Waits on the endpoint's "message received" event, not on a timer.
    const [text] = await twilio.waitForMessages(1)
    expect(text!.to).toBe(s.phone)
    expect(text!.body).toContain('Went dark')
  } finally {
    await running.close()
  }
  const [row] = await db.sql`select count(*)::int as n from monitoring_sessions where status = 'stale'`
  expect(row!.n).toBe(1)
})
