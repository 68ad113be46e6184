import type { Sql } from 'postgres'

/**
 * Whether a user wants texts: opt-out (STOP, or Twilio 21610) and pause (PAUSE <duration>).
 * Opting out revokes nothing else: pairing and sessions stay, texts stop until START.
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

/**
 * Claims pauses that have run out, so that exactly one caller (an event's text or the sweeper of any
 * server process) tells the user what was held. Compare-and-set on paused_until.
 */
export async function claimExpiredPause(sql: Sql, userId: string, now: Date): Promise<boolean> {
  const rows = await sql`update users set paused_until = null where id = ${userId} and paused_until <= ${now} returning id`
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
}

export async function loadRecipient(sql: Sql, userId: string): Promise<Recipient | undefined> {
  const [row] = await sql<{ id: string; phone_e164: string; opted_out_at: Date | null; paused_until: Date | null; went_dark_alerts: boolean }[]>`
    select u.id, u.phone_e164, u.opted_out_at, u.paused_until, coalesce(s.went_dark_alerts, true) as went_dark_alerts
    from users u left join user_settings s on s.user_id = u.id
    where u.id = ${userId}`
  return row ? { id: row.id, phoneE164: row.phone_e164, optedOutAt: row.opted_out_at, pausedUntil: row.paused_until, wentDarkAlerts: row.went_dark_alerts } : undefined
}
