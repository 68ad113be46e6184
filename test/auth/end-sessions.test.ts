import type { Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { endMonitoringSessions } from '../../server/auth/end-sessions.js'
import { createSql } from '../../server/db/connect.js'
import { createEmptyDatabase } from '../support/db.js'

// endMonitoringSessions must work whether or not the monitoring_sessions migration has run, so it is
// tested on bare databases: one without the table, one with just the columns it touches.
const userA = '11111111-1111-4111-8111-111111111111'
const userB = '22222222-2222-4222-8222-222222222222'
let without: { sql: Sql; drop(): Promise<void> }
let withTable: { sql: Sql; drop(): Promise<void> }

async function bareDatabase() {
  const db = await createEmptyDatabase()
  const sql = createSql(db.url, { max: 2 })
  return { sql, drop: async () => (await sql.end({ timeout: 5 }), await db.drop()) }
}

beforeAll(async () => {
  without = await bareDatabase()
  withTable = await bareDatabase()
  await withTable.sql`
    create table monitoring_sessions (
      id serial primary key, user_id uuid not null, status text not null,
      stopped_at timestamptz, stop_reason text, session_token_hash text)`
  await withTable.sql`
    create table approval_requests (
      id serial primary key, session_id integer not null, user_id uuid not null, status text not null,
      decided_by text, decided_at timestamptz)`
})
afterAll(async () => {
  await without?.drop()
  await withTable?.drop()
})

describe('ending a user\'s monitoring sessions', () => {
  it('is 0 when the monitoring_sessions table does not exist yet', async () => {
    expect(await endMonitoringSessions(without.sql, userA, { reason: 'logout', now: new Date() })).toBe(0)
  })

  it('stops the user\'s active and stale sessions, leaves stopped ones and other users alone', async () => {
    const stoppedEarlier = new Date('2026-01-01T00:00:00Z')
    await withTable.sql`
      insert into monitoring_sessions (user_id, status, stopped_at, stop_reason) values
        (${userA}, 'active', null, null), (${userA}, 'stale', null, null),
        (${userA}, 'stopped', ${stoppedEarlier}, 'user_stopped'), (${userB}, 'active', null, null)`
    const now = new Date('2026-03-02T10:00:00Z')
    expect(await endMonitoringSessions(withTable.sql, userA, { reason: 'logout', now })).toBe(2)
    const rows = await withTable.sql`select user_id, status, stopped_at, stop_reason from monitoring_sessions order by id`
    expect(rows.map((r) => [r.user_id, r.status, r.stopped_at?.toISOString() ?? null, r.stop_reason])).toEqual([
      [userA, 'stopped', now.toISOString(), 'logout'],
      [userA, 'stopped', now.toISOString(), 'logout'],
      [userA, 'stopped', stoppedEarlier.toISOString(), 'user_stopped'],
      [userB, 'active', null, null],
    ])
    expect(await endMonitoringSessions(withTable.sql, userA, { reason: 'logout', now })).toBe(0)
  })
})
