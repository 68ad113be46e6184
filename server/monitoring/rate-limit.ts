import type { PendingQuery, Row, Sql } from 'postgres'
import type { AlertType } from '../sms/policy.js'

/**
 * The text rate limit as one statement (docs: /work/shared/notes/postgres.md §5): a row per
 * (user, alert type) holding when the last text went out. The insert wins the slot when there is no
 * row or the row is older than the window; concurrent callers on any number of server processes
 * re-check the WHERE against the newest committed row, so exactly one of them wins.
 *
 * These are the statement's parts, placed in the event's own statements (server/sms/notifier.ts):
 * `claimTextSlot` is the body of a CTE that returns the slot's timestamp when won and no row when
 * rate limited; it inserts one row per row of `source` (the CTE of the event just stored), so the
 * slot is taken only for an event that was.
 */
export function claimTextSlot(sql: Sql, s: { source: PendingQuery<Row[]>; userId: string; type: AlertType; now: Date; windowMs: number }): PendingQuery<Row[]> {
  return sql`
    insert into sms_rate_limit as r (user_id, event_type, last_sent_at)
    select ${s.userId}::uuid, ${s.type}::text, ${s.now}::timestamptz from ${s.source}
    on conflict (user_id, event_type) do update
      set last_sent_at = excluded.last_sent_at
      where r.last_sent_at <= excluded.last_sent_at - make_interval(secs => ${s.windowMs / 1000})
    returning last_sent_at`
}

/** When the current slot was taken (for next_allowed_at), as a CTE body: no row when there is none. */
export function lastTextAt(sql: Sql, userId: string, type: AlertType): PendingQuery<Row[]> {
  return sql`select last_sent_at from sms_rate_limit where user_id = ${userId} and event_type = ${type} and last_sent_at > '-infinity'`
}

/**
 * Gives a won slot back after the send failed, so the next event may text. Compare-and-set on the
 * timestamp: a slot someone else has won since then is left alone.
 */
export function releaseTextSlot(sql: Sql, userId: string, type: AlertType, wonAt: Date): PendingQuery<Row[]> {
  return sql`update sms_rate_limit set last_sent_at = '-infinity' where user_id = ${userId} and event_type = ${type} and last_sent_at = ${wonAt}`
}
