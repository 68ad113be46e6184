import type { Sql } from 'postgres'
import type { QuietHours } from './quiet-hours.js'

/**
 * Whether a user wants texts: opt-out (STOP, or Twilio 21610) and pause (PAUSE <duration>).
 * Opting out stops texts until START; the STOP route also ends the number's pairings and dashboard
 * sign-ins (server/auth/sign-out-everywhere.ts). Monitoring sessions stay.
 */

export async function markOptedOut(sql: Sql, userId: string, at: Date): Promise<void> {
  await sql`update users set opted_out_at = ${at} where id = ${userId} and opted_out_at is null`
}

export async function optBackIn(sql: Sql, userId: string): Promise<void> {
  await sql`update users set opted_out_at = null where id = ${userId}`
}

export async function pauseUntil(sql: Sql, userId: string, until: Date): Promise<void> {
  await sql`update users set paused_until = ${until} where id = ${userId}`
}

/** Ends a pause now. True when there was one to end. */
export async function endPause(sql: Sql, userId: string): Promise<boolean> {
  const rows = await sql`update users set paused_until = null where id = ${userId} and paused_until is not null returning id`
  return rows.length === 1
}

export async function claimExpiredPauses(sql: Sql, now: Date, limit = 100): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`
    update users u set paused_until = null
    where u.id in (select id from users where paused_until <= ${now} limit ${limit} for update skip locked)
      and u.paused_until <= ${now}
    returning u.id`
  return rows.map((r) => r.id)
}

export interface Recipient {
  id: string
  phoneE164: string
  optedOutAt: Date | null
  pausedUntil: Date | null
  wentDarkAlerts: boolean
  quietHours: QuietHours | null
  /** Texts were held for quiet hours; their summary is due at this time. */
  quietDigestDueAt: Date | null
  doneThresholdMs: number
}

export type RecipientRow = {
  id: string
  phone_e164: string
  opted_out_at: Date | null
  paused_until: Date | null
  went_dark_alerts: boolean | null
  quiet_hours_enabled: boolean | null
  quiet_start: string | null
  quiet_end: string | null
  time_zone: string | null
  quiet_allow_waiting: boolean | null
  quiet_digest_due_at: Date | null
  done_threshold_minutes: number | null
}

/** The user as the notifier needs them: number, opt-out, pause and the dashboard's settings. */
export async function loadRecipient(sql: Sql, userId: string): Promise<Recipient | undefined> {
  const [row] = await sql<RecipientRow[]>`
    select u.id, u.phone_e164, u.opted_out_at, u.paused_until, s.went_dark_alerts, s.quiet_hours_enabled, s.quiet_start, s.quiet_end,
           s.time_zone, s.quiet_allow_waiting, s.quiet_digest_due_at, s.done_threshold_minutes
    from users u left join user_settings s on s.user_id = u.id
    where u.id = ${userId}`
  return row ? toRecipient(row) : undefined
}

/** A row of users joined with user_settings, as the notifier needs it. */
export function toRecipient(row: RecipientRow): Recipient {
  return {
    id: row.id,
    phoneE164: row.phone_e164,
    optedOutAt: row.opted_out_at,
    pausedUntil: row.paused_until,
    wentDarkAlerts: row.went_dark_alerts ?? true,
    quietHours: row.quiet_hours_enabled
      ? { start: row.quiet_start ?? '22:00', end: row.quiet_end ?? '07:00', timeZone: row.time_zone ?? 'UTC', allowWaiting: row.quiet_allow_waiting ?? false }
      : null,
    quietDigestDueAt: row.quiet_digest_due_at,
    doneThresholdMs: (row.done_threshold_minutes ?? 0) * 60_000,
  }
}

/** Claims every due quiet-hours summary (compare-and-set, so each goes out once; an event's text claims its user's in its own statement). */
export async function claimDueQuietDigests(sql: Sql, now: Date, limit = 100): Promise<string[]> {
  const rows = await sql<{ user_id: string }[]>`
    update user_settings s set quiet_digest_due_at = null
    where s.user_id in (select user_id from user_settings where quiet_digest_due_at <= ${now} limit ${limit} for update skip locked)
      and s.quiet_digest_due_at <= ${now}
    returning s.user_id`
  return rows.map((r) => r.user_id)
}
