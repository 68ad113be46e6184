import type { Sql } from 'postgres'
import { RATE_LIMIT_WINDOW_MS, type AlertType } from '../sms/policy.js'

/**
 * The text rate limit as one statement (docs: /work/shared/notes/postgres.md §5): a row per
 * (user, alert type) holding when the last text went out. The insert wins the slot when there is no
 * row or the row is older than the window; concurrent callers on any number of server processes
 * re-check the WHERE against the newest committed row, so exactly one of them wins.
 * Returns the slot's timestamp when won (needed to give it back), undefined when rate limited.
 */
export async function claimTextSlot(sql: Sql, userId: string, type: AlertType, now: Date, windowMs = RATE_LIMIT_WINDOW_MS): Promise<Date | undefined> {
  const [row] = await sql<{ last_sent_at: Date }[]>`
    insert into sms_rate_limit as r (user_id, event_type, last_sent_at)
    values (${userId}, ${type}, ${now})
    on conflict (user_id, event_type) do update
      set last_sent_at = excluded.last_sent_at
      where r.last_sent_at <= excluded.last_sent_at - make_interval(secs => ${windowMs / 1000})
    returning last_sent_at`
  return row?.last_sent_at
}

/**
 * Gives a won slot back after the send failed, so the next event may text. Compare-and-set on the
 * timestamp: a slot someone else has won since then is left alone.
 */
export async function releaseTextSlot(sql: Sql, userId: string, type: AlertType, wonAt: Date): Promise<void> {
  await sql`
    update sms_rate_limit set last_sent_at = '-infinity'
    where user_id = ${userId} and event_type = ${type} and last_sent_at = ${wonAt}`
}

/** When the current slot was taken (for next_allowed_at), if any. */
export async function lastTextAt(sql: Sql, userId: string, type: AlertType): Promise<Date | undefined> {
  const [row] = await sql<{ last_sent_at: Date }[]>`
    select last_sent_at from sms_rate_limit where user_id = ${userId} and event_type = ${type} and last_sent_at > '-infinity'`
  return row?.last_sent_at
}
