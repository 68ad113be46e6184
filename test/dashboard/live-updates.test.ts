import { EventEmitter, once } from 'node:events'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { createHeartbeatWriter } from '../../server/monitoring/heartbeats.js'
import { createSweeper } from '../../server/monitoring/sweeper.js'
import { createNotifier } from '../../server/sms/notifier.js'
import { createPostgresSessionUpdates, type SessionUpdate } from '../../server/session-updates.js'
import { DashboardClient, openLiveStream } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { captureLog } from '../support/log.js'
import { api, monitoredSession, sendEvent } from '../support/monitoring.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const { log } = captureLog('dashboard-live-updates')

function collect(updates: ReturnType<typeof createPostgresSessionUpdates>, userId: string) {
  const seen = new EventEmitter()
  const list: SessionUpdate[] = []
  updates.subscribe(userId, (u) => {
    list.push(u)
    seen.emit('update', u)
  })
  return { list, next: () => once(seen, 'update', { signal: AbortSignal.timeout(5_000) }).then(([u]) => u as SessionUpdate) }
}

describe('the live-update hub', () => {
  it('reaches pages served by another server process on the same database (LISTEN/NOTIFY)', async () => {
    // Two pools stand for two server processes.
    const otherSql = createSql(db.url, { max: 2 })
    try {
      const processA = createPostgresSessionUpdates(db.sql, log)
      const processB = createPostgresSessionUpdates(otherSql, log)
      const userId = '11111111-1111-4111-8111-111111111111'
      const inA = collect(processA, userId)
      const inB = collect(processB, userId)
      const other = collect(processB, '22222222-2222-4222-8222-222222222222')
      await Promise.all([processA.ready(), processB.ready()])
      const arrivedB = inB.next()
      const arrivedA = inA.next()
      processA.publish({ userId, monitoringId: 'm-1', kind: 'heartbeat' })
      expect(await arrivedB).toEqual({ userId, monitoringId: 'm-1', kind: 'heartbeat' })
      expect(await arrivedA).toEqual({ userId, monitoringId: 'm-1', kind: 'heartbeat' })
      expect(inA.list).toHaveLength(1) // heard once, through the LISTEN
      expect(other.list).toHaveLength(0) // another user hears nothing
    } finally {
      await otherSql.end({ timeout: 5 })
    }
  })
})

describe('GET /dashboard/live', () => {
  let twilio: TwilioEndpoint
  let server: TestServer
  beforeAll(async () => {
    twilio = await startTwilioEndpoint()
    server = await startTestServer({ sql: db.sql, twilio, name: 'dashboard-live' })
  })
  afterAll(async () => {
    await server?.close()
    await twilio?.close()
  })

  it('streams an update when the user’s session reports an event, and nothing about other users', async () => {
    const phone = testPhone()
    const s = await monitoredSession(server, db.sql, { phone })
    const stranger = await monitoredSession(server, db.sql)
    const client = new DashboardClient(server.url)
    await client.signIn(phone, twilio)

    const live = await openLiveStream(server.url, client.cookieHeader)
    expect(live.status).toBe(200)
    expect(live.contentType).toBe('text/event-stream; charset=utf-8')
    await live.readUntil(/: connected/)
    await sendEvent(server, stranger, { event_type: 'error', details: { error: 'not yours' } })
    await sendEvent(server, s, { event_type: 'waiting', details: { message: 'Proceed?' } })
    await live.readUntil(/event: update\ndata: .*"event"/)
    expect(live.received).toContain(`"monitoringId":"${s.id}"`)
    expect(live.received).not.toContain(stranger.id)

    // The sweeper (here with its own hub, as in another process) marks the silent session stale.
    const clock = manualClock(new Date(Date.now() + 10 * 60_000))
    const notifier = createNotifier({ sql: db.sql, sms: server.sms, clock, log, charset: 'unicode' })
    const sweeper = createSweeper({ sql: db.sql, clock, log, notifier, updates: createPostgresSessionUpdates(db.sql, log) })
    expect((await sweeper.sweep()).stale).toContain(s.id)
    await live.readUntil(new RegExp(`"kind":"stale","monitoringId":"${s.id}"`))
    live.close()
  })

  it('tells every process of a heartbeat once, and nothing of a stopped session\'s', async () => {
    const s = await monitoredSession(server, db.sql)
    const otherSql = createSql(db.url, { max: 2 })
    try {
      const processA = createPostgresSessionUpdates(db.sql, log)
      const processB = createPostgresSessionUpdates(otherSql, log)
      const inA = collect(processA, s.userId)
      const inB = collect(processB, s.userId)
      await Promise.all([processA.ready(), processB.ready()])
      const writer = createHeartbeatWriter({ sql: db.sql, updates: processA })
      const arrivedB = inB.next()
      const arrivedA = inA.next()
      // Two heartbeats of the session in one write: one update.
      const beats = await Promise.all([0, 1].map(() => writer.beat({ token: s.token, monitoringId: s.id, now: new Date(), lastActivity: null })))
      expect(beats).toEqual([{ id: s.id, userId: s.userId }, { id: s.id, userId: s.userId }])
      expect(await arrivedB).toEqual({ userId: s.userId, monitoringId: s.id, kind: 'heartbeat' })
      expect(await arrivedA).toEqual({ userId: s.userId, monitoringId: s.id, kind: 'heartbeat' })

      expect((await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: {} })).status).toBe(200)
      expect(await writer.beat({ token: s.token, monitoringId: s.id, now: new Date(), lastActivity: null })).toBeUndefined()
      // NOTIFYs arrive in commit order: once B hears a later one, it would have heard the refused heartbeat's.
      processA.publish({ userId: s.userId, monitoringId: s.id, kind: 'settings' })
      while (!inB.list.some((u) => u.kind === 'settings')) await inB.next()
      expect(inA.list.filter((u) => u.kind === 'heartbeat')).toHaveLength(1) // heard once, through the LISTEN
      expect(inB.list.filter((u) => u.kind === 'heartbeat')).toHaveLength(1)
    } finally {
      await otherSql.end({ timeout: 5 })
    }
  })
})
