import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Router, type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { Sql } from 'postgres'
import { z } from 'zod'
import { TEMP_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import { startPairing, type PairingDeps } from '../pairing/start-pairing.js'
import type { SessionUpdates } from '../session-updates.js'
import { isValidTimeZone } from '../sms/quiet-hours.js'
import { createCookieSessions, readCookie, type DashboardSession } from './cookie-session.js'
import { type Html } from './html.js'
import { page, type NavItem } from './layout.js'
import { liveUpdates } from './live.js'
import { checkDashboardCode, pendingDashboardCode } from './login-code.js'
import { loginCodePage, loginPhonePage } from './pages/login.js'
import { messagePage } from './pages/message.js'
import { outboxPage, type OutboxText } from './pages/outbox.js'
import { sessionPage } from './pages/session.js'
import { sessionsPage } from './pages/sessions.js'
import { settingsPage } from './pages/settings.js'
import { statsPage } from './pages/stats.js'
import { findSessionDetail, listSessions } from './sessions-query.js'
import { loadSettings, saveSettings } from './settings-store.js'
import { loadStats } from './stats.js'
import { fromWallTime } from './zoned-time.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The signed-in dashboard visitor (cookie session), on /dashboard routes. */
      dashboard?: DashboardSession
    }
  }
}

export interface DashboardDeps {
  sql: Sql
  clock: Clock
  log: Logger
  pepper: string
  publicUrl: string
  /** Sends and limits sign-in codes: the pairing machinery (server/pairing/). */
  pairing: PairingDeps
  updates: SessionUpdates
  /** 'console' adds the outbox page. */
  transportName: string
  pricePerSegment: number
}

const stylesheet = readFileSync(join(sourceDir(), 'static', 'style.css'), 'utf8')

const PhoneForm = z.object({ phone: z.string().trim().min(3, 'Enter your mobile number.').max(40, 'That number is too long.') })
const CodeForm = z.object({ code: z.string().transform((s) => s.replace(/\s+/g, '')).pipe(z.string().regex(/^\d{6}$/, 'Enter the 6 digits of the code we texted.')) })
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
  done_threshold_minutes: z.coerce.number('The done threshold is a number of minutes.').int('The done threshold is a whole number of minutes.').min(0).max(1440, 'The done threshold is at most 1440 minutes (a day).'),
  paused_until: z.string().max(40).optional().default(''),
})

/**
 * The web dashboard under /dashboard: sign-in by SMS code, then server-rendered pages (sessions, one
 * session's timeline, stats, settings, the console outbox) with live updates over Server-Sent Events.
 */
export function dashboardRouter(deps: DashboardDeps): Router {
  const { sql, clock, log, updates } = deps
  const secure = new URL(deps.publicUrl).protocol === 'https:'
  const sessions = createCookieSessions({ sql, clock, pepper: deps.pepper, secure })
  const consoleMode = deps.transportName === 'console'
  const router = Router()

  const render = (res: Response, status: number, title: string, body: Html, opts: { req?: Request; current?: NavItem; live?: { monitoringId?: string } } = {}) => {
    const d = opts.req?.dashboard
    const markup = page({
      title,
      body,
      nonce: res.locals.nonce as string,
      live: opts.live,
      signedIn: d ? { phoneMasked: d.phoneMasked, csrfToken: d.csrfToken, current: opts.current, showOutbox: consoleMode } : undefined,
    })
    res.status(status).type('html').send(markup.value)
  }

  // Every dashboard response: never cached, never framed, scripts only with this response's nonce.
  router.use((_req, res, next) => {
    const nonce = randomBytes(16).toString('base64')
    res.locals.nonce = nonce
    res.setHeader('Cache-Control', 'no-store')
    res.setHeader('X-Frame-Options', 'DENY')
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'same-origin')
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'none'; style-src 'self'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    )
    next()
  })

  router.get('/static/style.css', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300')
    res.type('css').send(stylesheet)
  })

  router.use(async (req, _res, next) => {
    req.dashboard = await sessions.find(req)
    next()
  })

  // ---- sign-in: phone, then code ----------------------------------------------------------------------

  const loginForm = (req: Request, res: Response) => sessions.csrfFor(sessions.loginNonce(req, res))
  const loginCsrfOk = (req: Request) => {
    const nonce = sessions.readLoginNonce(req)
    return nonce !== undefined && sessions.csrfMatches(nonce, (req.body as Record<string, unknown> | undefined)?.csrf)
  }
  const expiredForm = (res: Response) =>
    render(res, 403, 'Form expired', messagePage({ title: 'This form has expired', message: 'Reload the page and try again.', link: { href: '/dashboard/login', label: 'Sign in' } }))

  router.get('/login', (req, res) => {
    if (req.dashboard) return res.redirect(303, '/dashboard/sessions')
    if (req.query.again) sessions.clearPendingCode(res)
    const notice = req.query.ended ? 'That code has expired, was used, or was mistyped too often. Ask for a new one.' : req.query.signed_out ? 'You are signed out.' : undefined
    render(res, 200, 'Sign in', loginPhonePage({ csrfToken: loginForm(req, res), consoleMode, notice, defaultCallingCode: deps.pairing.allowedCountryCodes[0] }))
  })

  router.post('/login', async (req, res) => {
    if (!loginCsrfOk(req)) return expiredForm(res)
    const csrfToken = loginForm(req, res)
    const form = PhoneForm.safeParse(req.body)
    if (!form.success) return render(res, 400, 'Sign in', loginPhonePage({ csrfToken, consoleMode, error: form.error.issues[0]!.message }))
    try {
      const started = await startPairing(deps.pairing, { phone: form.data.phone, ip: req.ip ?? 'unknown', purpose: 'dashboard' })
      sessions.setPendingCode(res, started.tempToken, new Date(clock.now().getTime() + TEMP_TOKEN_TTL_SECONDS * 1000))
      res.redirect(303, '/dashboard/login/code')
    } catch (e) {
      if (!(e instanceof ApiError)) throw e
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v)
      render(res, e.status, 'Sign in', loginPhonePage({ csrfToken, consoleMode, error: e.message, phone: form.data.phone }))
    }
  })

  router.get('/login/code', async (req, res) => {
    if (req.dashboard) return res.redirect(303, '/dashboard/sessions')
    const tempToken = sessions.readPendingCode(req)
    const pending = tempToken ? await pendingDashboardCode(sql, tempToken, clock.now()) : undefined
    if (!pending) return res.redirect(303, '/dashboard/login')
    render(res, 200, 'Enter the code', loginCodePage({ csrfToken: loginForm(req, res), consoleMode, phoneMasked: pending.phoneMasked }))
  })

  router.post('/login/code', async (req, res) => {
    if (!loginCsrfOk(req)) return expiredForm(res)
    const tempToken = sessions.readPendingCode(req)
    if (!tempToken) return res.redirect(303, '/dashboard/login?ended=1')
    const csrfToken = loginForm(req, res)
    const form = CodeForm.safeParse(req.body)
    if (!form.success) {
      const pending = await pendingDashboardCode(sql, tempToken, clock.now())
      if (!pending) return res.redirect(303, '/dashboard/login?ended=1')
      return render(res, 400, 'Enter the code', loginCodePage({ csrfToken, consoleMode, phoneMasked: pending.phoneMasked, error: form.error.issues[0]!.message }))
    }
    const checked = await checkDashboardCode({ sql, clock, log: req.log, pepper: deps.pepper }, { tempToken, code: form.data.code })
    if (!checked.ok) {
      if (checked.reason === 'ended') {
        sessions.clearPendingCode(res)
        return res.redirect(303, '/dashboard/login?ended=1')
      }
      const error = `That is not the code we texted to ${checked.phoneMasked}. ${checked.attemptsLeft} ${checked.attemptsLeft === 1 ? 'try' : 'tries'} left.`
      return render(res, 400, 'Enter the code', loginCodePage({ csrfToken, consoleMode, phoneMasked: checked.phoneMasked, error }))
    }
    sessions.clearPendingCode(res)
    sessions.clearLoginNonce(res)
    await sessions.start(res, checked.user.id)
    res.redirect(303, '/dashboard/sessions')
  })

  // ---- everything below needs a signed-in session, and every POST its CSRF token ----------------------

  router.use((req, res, next) => {
    if (req.dashboard) return next()
    if (req.path === '/live') return res.status(401).type('text').send('Sign in at /dashboard/login')
    if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, '/dashboard/login')
    render(res, 401, 'Signed out', messagePage({ title: 'You are signed out', message: 'Sign in again to continue.', link: { href: '/dashboard/login', label: 'Sign in' } }))
  })

  const requireCsrf: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST') return next()
    const submitted = (req.body as Record<string, unknown> | undefined)?.csrf
    const cookieValue = readCookie(req, sessions.sessionCookie)
    if (cookieValue && sessions.csrfMatches(cookieValue, submitted)) return next()
    req.log.warn({ path: req.path }, 'dashboard form rejected: missing or wrong CSRF token')
    render(res, 403, 'Form expired', messagePage({ title: 'This form has expired', message: 'Go back, reload the page and try again.', link: { href: '/dashboard/sessions', label: 'Back to the dashboard' } }), { req })
  }
  router.use(requireCsrf)

  router.post('/logout', async (req, res) => {
    await sessions.end(res, req.dashboard!.id)
    res.redirect(303, '/dashboard/login?signed_out=1')
  })

  router.get('/', (_req, res) => res.redirect(303, '/dashboard/sessions'))

  router.get('/live', liveUpdates(updates))

  router.get('/sessions', async (req, res) => {
    const d = req.dashboard!
    const [settings, list] = await Promise.all([loadSettings(sql, d.userId), listSessions(sql, d.userId)])
    render(res, 200, 'Sessions', sessionsPage({ sessions: list, timeZone: settings.timeZone, now: clock.now() }), { req, current: 'sessions', live: {} })
  })

  router.get('/sessions/:id', async (req, res) => {
    const d = req.dashboard!
    const id = String(req.params.id)
    const [settings, detail] = await Promise.all([loadSettings(sql, d.userId), findSessionDetail(sql, d.userId, id)])
    if (!detail) return notFoundPage(req, res)
    render(res, 200, detail.description, sessionPage({ session: detail, timeZone: settings.timeZone, now: clock.now() }), { req, current: 'sessions', live: { monitoringId: detail.id } })
  })

  router.get('/stats', async (req, res) => {
    const d = req.dashboard!
    const settings = await loadSettings(sql, d.userId)
    const stats = await loadStats(sql, d.userId, { now: clock.now(), timeZone: settings.timeZone, pricePerSegment: deps.pricePerSegment })
    render(res, 200, 'Stats', statsPage({ stats, pricePerSegment: deps.pricePerSegment, timeZone: settings.timeZone, consoleMode }), { req, current: 'stats', live: {} })
  })

  router.get('/settings', async (req, res) => {
    const d = req.dashboard!
    const settings = await loadSettings(sql, d.userId)
    render(res, 200, 'Settings', settingsPage({ settings, csrfToken: d.csrfToken, now: clock.now(), saved: Boolean(req.query.saved), nonce: res.locals.nonce as string }), { req, current: 'settings' })
  })

  router.post('/settings', async (req, res) => {
    const d = req.dashboard!
    const form = SettingsForm.safeParse(req.body)
    const current = await loadSettings(sql, d.userId)
    const fail = (error: string) =>
      render(res, 400, 'Settings', settingsPage({ settings: current, csrfToken: d.csrfToken, now: clock.now(), error, nonce: res.locals.nonce as string }), { req, current: 'settings' })
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
      pausedUntil,
    })
    req.log.info({ user_id: d.userId }, 'dashboard settings saved')
    updates.publish({ userId: d.userId, monitoringId: null, kind: 'settings' })
    res.redirect(303, '/dashboard/settings?saved=1')
  })

  router.get('/outbox', async (req, res) => {
    if (!consoleMode) return notFoundPage(req, res, 'The outbox lists texts only when Twilio is not configured (console transport); this server sends real texts.')
    const d = req.dashboard!
    const settings = await loadSettings(sql, d.userId)
    const rows = await sql<{ id: string; to_masked: string; kind: string; body: string; segments: number; created_at: Date }[]>`
      select id, to_masked, kind, body, segments, created_at from sms_messages where transport = 'console' order by created_at desc limit 100`
    const texts: OutboxText[] = rows.map((r) => ({ id: r.id, toMasked: r.to_masked, kind: r.kind, body: r.body, segments: r.segments, createdAt: r.created_at }))
    render(res, 200, 'Outbox', outboxPage({ texts, timeZone: settings.timeZone, now: clock.now() }), { req, current: 'outbox', live: {} })
  })

  router.use((req, res) => notFoundPage(req, res))

  // Dashboard failures are pages, not JSON: a person is looking at them.
  const htmlErrors: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err)
    if (err instanceof ApiError && err.status < 500) {
      return render(res, err.status, 'Error', messagePage({ title: 'That did not work', message: err.message, link: { href: '/dashboard', label: 'Back to the dashboard' } }), { req })
    }
    ;(req.log ?? log).error({ err }, 'dashboard error')
    render(res, 500, 'Error', messagePage({ title: 'Something went wrong', message: 'The server could not show this page; it has been logged. Try again in a moment.', link: { href: '/dashboard', label: 'Back to the dashboard' } }), { req })
  }
  router.use(htmlErrors)

  function notFoundPage(req: Request, res: Response, message = 'There is no such page, or it belongs to someone else.') {
    render(res, 404, 'Not found', messagePage({ title: 'Not found', message, link: { href: '/dashboard/sessions', label: 'Your sessions' } }), { req })
  }

  return router
}

function sourceDir(): string {
  // Works from server/dashboard/*.ts (vitest, tsx) and from build/server/dashboard/*.js (npm start).
  const here = dirname(fileURLToPath(import.meta.url))
  const parts = here.split('/')
  const buildIndex = parts.lastIndexOf('build')
  if (buildIndex >= 0 && parts[buildIndex + 1] === 'server') return join(parts.slice(0, buildIndex).join('/'), ...parts.slice(buildIndex + 1))
  return here
}
