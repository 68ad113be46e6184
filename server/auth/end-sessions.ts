import type { Sql } from 'postgres'
import { settleForSessionEnd } from '../approvals/store.js'

/**
 * Ends every monitoring session of a user that is not stopped yet (logout, STOP), returning how many.
 * The monitoring_sessions table arrives with its own migration; until it exists there is nothing to end,
 * so this asks the catalogue first (to_regclass is null for a missing table) instead of failing.
 */
export async function endMonitoringSessions(sql: Sql, userId: string, opts: { reason: string; now: Date }): Promise<number> {
  const [catalogue] = await sql<{ exists: boolean }[]>`select to_regclass('monitoring_sessions') is not null as exists`
  if (!catalogue?.exists) return 0
  const ended = await sql`
    update monitoring_sessions
    set status = 'stopped', stopped_at = ${opts.now}, stop_reason = ${opts.reason}
    where user_id = ${userId} and status <> 'stopped'
    returning id`
  // Their approval requests are over too (session_end); the plugin's long poll hears it by its token's 401.
  await settleForSessionEnd(sql, ended.map((r) => r.id as string), opts.now)
  return ended.length
}
