import type { Sql } from 'postgres'

export interface DashboardStats {
  totalSessions: number
  totalTexts: number
  /** Mean of (end, or last heartbeat while running) minus start; null without sessions. */
  averageSessionMs: number | null
  monthTexts: number
  monthSegments: number
  /** monthSegments × SMS_PRICE_PER_SEGMENT, in USD. */
  monthCostUsd: number
  /** First instant of this calendar month in the user's time zone. */
  monthStart: Date
}

/** Carriers bill per segment, so the estimate is segments × price; rounding is left to the display. */
export function estimateCost(segments: number, pricePerSegment: number): number {
  return segments * pricePerSegment
}

/**
 * The user's totals and this month's texts. A text counts once the provider took it (or the console
 * transport logged it): failed sends are not billed. Pairing and sign-in codes belong to no user yet.
 */
export async function loadStats(sql: Sql, userId: string, opts: { now: Date; timeZone: string; pricePerSegment: number }): Promise<DashboardStats> {
  const [row] = await sql<
    { total_sessions: number; average_ms: number | null; total_texts: number; month_texts: number; month_segments: number; month_start: Date }[]
  >`
    with month as (
      select (date_trunc('month', ${opts.now}::timestamptz at time zone ${opts.timeZone}) at time zone ${opts.timeZone}) as start
    )
    select
      (select count(*) from monitoring_sessions where user_id = ${userId})::int as total_sessions,
      (select avg(extract(epoch from (coalesce(stopped_at, last_heartbeat_at) - started_at)) * 1000)
         from monitoring_sessions where user_id = ${userId})::float8 as average_ms,
      (select count(*) from sms_messages where user_id = ${userId} and status not in ('failed', 'sending'))::int as total_texts,
      (select count(*) from sms_messages, month where user_id = ${userId} and status not in ('failed', 'sending') and created_at >= month.start)::int as month_texts,
      (select coalesce(sum(segments), 0) from sms_messages, month where user_id = ${userId} and status not in ('failed', 'sending') and created_at >= month.start)::int as month_segments,
      (select start from month) as month_start`
  const r = row!
  return {
    totalSessions: r.total_sessions,
    totalTexts: r.total_texts,
    averageSessionMs: r.average_ms === null ? null : Math.max(0, r.average_ms),
    monthTexts: r.month_texts,
    monthSegments: r.month_segments,
    monthCostUsd: estimateCost(r.month_segments, opts.pricePerSegment),
    monthStart: r.month_start,
  }
}
