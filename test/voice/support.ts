import type { Sql } from 'postgres'
import type { Clock } from '../../server/clock.js'
import { createLocalSessionUpdates, type SessionUpdates } from '../../server/session-updates.js'
import { createEscalation } from '../../server/voice/escalation.js'
import { createVoiceTransport } from '../../server/voice/transport.js'
import type { TestServer } from '../support/server.js'

/** The call settings of the dashboard, written as the settings page saves them. */
export async function callSettings(sql: Sql, userId: string, s: { requests?: boolean; waits?: boolean; minutes?: number; breakQuietHours?: boolean }) {
  await sql`
    insert into user_settings (user_id, call_for_requests, call_for_waits, call_after_minutes, calls_break_quiet_hours)
    values (${userId}, ${s.requests ?? false}, ${s.waits ?? false}, ${s.minutes ?? 15}, ${s.breakQuietHours ?? false})
    on conflict (user_id) do update set call_for_requests = excluded.call_for_requests, call_for_waits = excluded.call_for_waits,
      call_after_minutes = excluded.call_after_minutes, calls_break_quiet_hours = excluded.calls_break_quiet_hours`
}

/** The escalation job of one server process (as server/server.ts builds it), on the given clock. */
export function escalationOf(server: Pick<TestServer, 'config' | 'log'>, sql: Sql, clock: Clock, opts: { dailyCap?: number; updates?: SessionUpdates } = {}) {
  return createEscalation({
    sql,
    clock,
    log: server.log,
    voice: createVoiceTransport(server.config, server.log),
    publicUrl: server.config.publicUrl,
    pepper: server.config.pepper,
    dailyCap: opts.dailyCap ?? server.config.voiceDailyCap,
    updates: opts.updates ?? createLocalSessionUpdates(),
  })
}

export const MINUTE = 60_000
