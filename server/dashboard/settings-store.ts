import type { Sql } from 'postgres'
import type { Clock } from '../clock.js'
import { quietHoursEnd } from '../sms/quiet-hours.js'

/** What the settings page shows and saves (user_settings, plus users.paused_until). */
export interface UserSettings {
  quietHoursEnabled: boolean
  quietStart: string
  quietEnd: string
  timeZone: string
  quietAllowWaiting: boolean
  wentDarkAlerts: boolean
  /** "done" texts only for turns that ran at least this long; 0 leaves it to the plugin's own threshold. */
  doneThresholdMinutes: number
  /** "Never accept approvals by text": account-wide, wins over a session's opt-in. */
  approvalsDisabled: boolean
  /** Call me when a permission request stays unanswered for callAfterMinutes (server/voice/). */
  callForRequests: boolean
  /** Call me when a waiting text stays unanswered for callAfterMinutes. */
  callForWaits: boolean
  callAfterMinutes: number
  /** Calls ring during quiet hours and pauses too. */
  callsBreakQuietHours: boolean
  pausedUntil: Date | null
  /** Whether the user ever saved settings (the page then suggests the browser's time zone). */
  saved: boolean
}

export const DEFAULT_SETTINGS: Omit<UserSettings, 'pausedUntil' | 'saved'> = {
  quietHoursEnabled: false,
  quietStart: '22:00',
  quietEnd: '07:00',
  timeZone: 'UTC',
  quietAllowWaiting: false,
  wentDarkAlerts: true,
  doneThresholdMinutes: 0,
  approvalsDisabled: false,
  callForRequests: false,
  callForWaits: false,
  callAfterMinutes: 15,
  callsBreakQuietHours: false,
}

type Row = {
  quiet_hours_enabled: boolean | null
  quiet_start: string | null
  quiet_end: string | null
  time_zone: string | null
  quiet_allow_waiting: boolean | null
  went_dark_alerts: boolean | null
  done_threshold_minutes: number | null
  approvals_disabled: boolean | null
  call_for_requests: boolean | null
  call_for_waits: boolean | null
  call_after_minutes: number | null
  calls_break_quiet_hours: boolean | null
  paused_until: Date | null
  saved: boolean
}

export async function loadSettings(sql: Sql, userId: string): Promise<UserSettings> {
  const [row] = await sql<Row[]>`
    select s.quiet_hours_enabled, s.quiet_start, s.quiet_end, s.time_zone, s.quiet_allow_waiting, s.went_dark_alerts,
           s.done_threshold_minutes, s.approvals_disabled, s.call_for_requests, s.call_for_waits, s.call_after_minutes, s.calls_break_quiet_hours,
           u.paused_until, s.user_id is not null as saved
    from users u left join user_settings s on s.user_id = u.id
    where u.id = ${userId}`
  const d = DEFAULT_SETTINGS
  return {
    quietHoursEnabled: row?.quiet_hours_enabled ?? d.quietHoursEnabled,
    quietStart: row?.quiet_start ?? d.quietStart,
    quietEnd: row?.quiet_end ?? d.quietEnd,
    timeZone: row?.time_zone ?? d.timeZone,
    quietAllowWaiting: row?.quiet_allow_waiting ?? d.quietAllowWaiting,
    wentDarkAlerts: row?.went_dark_alerts ?? d.wentDarkAlerts,
    doneThresholdMinutes: row?.done_threshold_minutes ?? d.doneThresholdMinutes,
    approvalsDisabled: row?.approvals_disabled ?? d.approvalsDisabled,
    callForRequests: row?.call_for_requests ?? d.callForRequests,
    callForWaits: row?.call_for_waits ?? d.callForWaits,
    callAfterMinutes: row?.call_after_minutes ?? d.callAfterMinutes,
    callsBreakQuietHours: row?.calls_break_quiet_hours ?? d.callsBreakQuietHours,
    pausedUntil: row?.paused_until ?? null,
    saved: row?.saved ?? false,
  }
}

/**
 * Saves the settings; they apply to the next event. Texts already held for quiet hours get their
 * summary when the new window ends, or at the next sweep when quiet hours no longer apply now. A pause
 * cleared here is set to end now rather than removed, so the sweeper still sends what it held.
 */
export async function saveSettings(sql: Sql, clock: Clock, userId: string, s: Omit<UserSettings, 'saved'>): Promise<void> {
  const now = clock.now()
  const quietEnd = s.quietHoursEnabled ? quietHoursEnd({ start: s.quietStart, end: s.quietEnd, timeZone: s.timeZone, allowWaiting: s.quietAllowWaiting }, now) : null
  await sql.begin(async (tx) => {
    await tx`
      insert into user_settings (user_id, quiet_hours_enabled, quiet_start, quiet_end, time_zone, quiet_allow_waiting, went_dark_alerts, done_threshold_minutes, approvals_disabled,
                                 call_for_requests, call_for_waits, call_after_minutes, calls_break_quiet_hours)
      values (${userId}, ${s.quietHoursEnabled}, ${s.quietStart}, ${s.quietEnd}, ${s.timeZone}, ${s.quietAllowWaiting}, ${s.wentDarkAlerts}, ${s.doneThresholdMinutes}, ${s.approvalsDisabled},
              ${s.callForRequests}, ${s.callForWaits}, ${s.callAfterMinutes}, ${s.callsBreakQuietHours})
      on conflict (user_id) do update set
        quiet_hours_enabled = excluded.quiet_hours_enabled, quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
        time_zone = excluded.time_zone, quiet_allow_waiting = excluded.quiet_allow_waiting,
        went_dark_alerts = excluded.went_dark_alerts, done_threshold_minutes = excluded.done_threshold_minutes,
        approvals_disabled = excluded.approvals_disabled,
        call_for_requests = excluded.call_for_requests, call_for_waits = excluded.call_for_waits,
        call_after_minutes = excluded.call_after_minutes, calls_break_quiet_hours = excluded.calls_break_quiet_hours,
        quiet_digest_due_at = case when user_settings.quiet_digest_due_at is null then null
                                   else ${quietEnd ?? now}::timestamptz end`
    const paused = await tx<{ paused_until: Date | null }[]>`select paused_until from users where id = ${userId}`
    const current = paused[0]?.paused_until ?? null
    if (s.pausedUntil && s.pausedUntil.getTime() > now.getTime()) {
      await tx`update users set paused_until = ${s.pausedUntil} where id = ${userId}`
    } else if (current && current.getTime() > now.getTime()) {
      await tx`update users set paused_until = ${now} where id = ${userId}`
    }
  })
}
