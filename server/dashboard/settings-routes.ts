import { Router } from 'express'
import type { Sql } from 'postgres'
import { z } from 'zod'
import { signOutEverywhere } from '../auth/sign-out-everywhere.js'
import type { Clock } from '../clock.js'
import type { SessionUpdates } from '../session-updates.js'
import { isValidTimeZone } from '../sms/quiet-hours.js'
import type { CookieSessions } from './cookie-session.js'
import { settingsPage } from './pages/settings.js'
import type { Render } from './render.js'
import { loadSettings, saveSettings } from './settings-store.js'
import { fromWallTime } from './zoned-time.js'

const HHMM = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'Times look like 22:00.')
  .transform((s) => s.slice(0, 5))
// A checked box sends "on"; an unchecked one sends nothing.
const checkbox = z.string().max(10).optional().transform((v) => v === 'on')
const SettingsForm = z.object({
  quiet_enabled: checkbox,
  quiet_start: HHMM,
  quiet_end: HHMM,
  time_zone: z.string().max(64).refine(isValidTimeZone, 'Choose a time zone from the list.'),
  quiet_allow_waiting: checkbox,
  went_dark_alerts: checkbox,
  approvals_disabled: checkbox,
  done_threshold_minutes: z.coerce
    .number('The done threshold is a number of minutes.')
    .int('The done threshold is a whole number of minutes.')
    .min(0, 'The done threshold cannot be negative.')
    .max(1440, 'The done threshold is at most 1440 minutes (a day).'),
  paused_until: z.string().max(40).optional().default(''),
  call_for_requests: checkbox,
  call_for_waits: checkbox,
  // Absent on forms saved before calls existed: the default then.
  call_after_minutes: z.coerce
    .number('The call delay is a number of minutes.')
    .int('The call delay is a whole number of minutes.')
    .min(5, 'Calls come after at least 5 minutes.')
    .max(120, 'Calls come after at most 120 minutes.')
    .default(15),
  calls_break_quiet_hours: checkbox,
})

/** GET/POST /dashboard/settings (signed in; the router checks the CSRF token of every POST). */
export function settingsRoutes(deps: { sql: Sql; clock: Clock; updates: SessionUpdates; render: Render; sessions: CookieSessions }): Router {
  const { sql, clock, render } = deps
  const router = Router()

  router.get('/settings', async (req, res) => {
    const d = req.dashboard!
    const settings = await loadSettings(sql, d.userId)
    const page = settingsPage({ settings, csrfToken: d.csrfToken, now: clock.now(), saved: Boolean(req.query.saved), nonce: res.locals.nonce as string })
    render(res, 200, 'Settings', page, { req, current: 'settings' })
  })

  router.post('/settings', async (req, res) => {
    const d = req.dashboard!
    const fail = async (error: string) => {
      const page = settingsPage({ settings: await loadSettings(sql, d.userId), csrfToken: d.csrfToken, now: clock.now(), error, nonce: res.locals.nonce as string })
      render(res, 400, 'Settings', page, { req, current: 'settings' })
    }
    const form = SettingsForm.safeParse(req.body)
    if (!form.success) return fail(form.error.issues[0]!.message)
    const f = form.data
    let pausedUntil: Date | null = null
    if (f.paused_until.trim()) {
      const at = fromWallTime(f.paused_until.trim(), f.time_zone)
      if (!at) return fail('"Pause until" needs a date and a time.')
      pausedUntil = at
    }
    await saveSettings(sql, clock, d.userId, {
      quietHoursEnabled: f.quiet_enabled,
      quietStart: f.quiet_start,
      quietEnd: f.quiet_end,
      timeZone: f.time_zone,
      quietAllowWaiting: f.quiet_allow_waiting,
      wentDarkAlerts: f.went_dark_alerts,
      doneThresholdMinutes: f.done_threshold_minutes,
      approvalsDisabled: f.approvals_disabled,
      callForRequests: f.call_for_requests,
      callForWaits: f.call_for_waits,
      callAfterMinutes: f.call_after_minutes,
      callsBreakQuietHours: f.calls_break_quiet_hours,
      pausedUntil,
    })
    req.log.info({ user_id: d.userId }, 'dashboard settings saved')
    deps.updates.publish({ userId: d.userId, monitoringId: null, kind: 'settings' })
    res.redirect(303, '/dashboard/settings?saved=1')
  })

  // Every pairing (each computer's token and all refreshed from it), every dashboard sign-in including
  // this one, and every running monitoring session of this number end now.
  router.post('/sign-out-everywhere', async (req, res) => {
    const d = req.dashboard!
    const ended = await signOutEverywhere({ sql, updates: deps.updates }, d.userId, { reason: 'signed_out_everywhere', now: clock.now(), stopMonitoring: true })
    req.log.info({ user_id: d.userId, pairings: ended.pairings, dashboard_sessions: ended.dashboardSessions, monitoring_sessions: ended.monitoringSessions }, 'signed out everywhere')
    await deps.sessions.end(res, d.id)
    res.redirect(303, '/dashboard/login?signed_out=everywhere')
  })

  return router
}
