import type { Sql } from 'postgres'
import type { SessionUpdates } from '../session-updates.js'
import type { RevokeReason } from './access-tokens.js'
import { endMonitoringSessions } from './end-sessions.js'

export interface SignedOut {
  /** Pairings (token families) revoked: every computer's token, and every token refreshed from it. */
  pairings: number
  /** Dashboard sign-ins (cookie sessions) ended. */
  dashboardSessions: number
  /** Monitoring sessions stopped (only when asked to). */
  monitoringSessions: number
}

/**
 * Every pairing and every dashboard sign-in of one person ends now: STOP texted from the phone and the
 * dashboard's "Sign out everywhere". Open live pages hear it through `updates` and close their streams.
 * STOP leaves monitoring sessions running (texts stop anyway, and START resumes them); signing out
 * everywhere stops them too, since the person asked for nothing of theirs to keep running.
 */
export async function signOutEverywhere(
  deps: { sql: Sql; updates?: SessionUpdates },
  userId: string,
  opts: { reason: Extract<RevokeReason, 'opted_out' | 'signed_out_everywhere'>; now: Date; stopMonitoring?: boolean },
): Promise<SignedOut> {
  const { sql } = deps
  const result = await sql.begin(async (tx) => {
    const families = await tx`
      update token_families set revoked_at = ${opts.now}, revoke_reason = ${opts.reason}
      where user_id = ${userId} and revoked_at is null returning 1`
    await tx`update access_tokens set revoked_at = ${opts.now} where user_id = ${userId} and revoked_at is null`
    const dashboard = await tx`update dashboard_sessions set revoked_at = ${opts.now} where user_id = ${userId} and revoked_at is null returning 1`
    return { pairings: families.length, dashboardSessions: dashboard.length }
  })
  const monitoringSessions = opts.stopMonitoring ? await endMonitoringSessions(sql, userId, { reason: opts.reason, now: opts.now }) : 0
  deps.updates?.publish({ userId, monitoringId: null, kind: 'signed_out' })
  return { ...result, monitoringSessions }
}
