import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Router, type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { Sql } from 'postgres'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import type { PairingDeps } from '../pairing/start-pairing.js'
import type { SessionUpdates } from '../session-updates.js'
import { createCookieSessions, readCookie, type DashboardSession } from './cookie-session.js'
import { liveUpdates } from './live.js'
import { loginRoutes } from './login-routes.js'
import { messagePage } from './pages/message.js'
import { outboxPage, type OutboxText } from './pages/outbox.js'
import { sessionPage } from './pages/session.js'
import { sessionsPage } from './pages/sessions.js'
import { statsPage } from './pages/stats.js'
import { createRender } from './render.js'
import { findSessionDetail, listSessions } from './sessions-query.js'
import { settingsRoutes } from './settings-routes.js'
import { loadSettings } from './settings-store.js'
import { loadStats } from './stats.js'
import type { ConsoleTexts } from '../sms/console.js'
import { consoleCalls, monthCallStats, outboxCalls, sessionCalls } from '../voice/dashboard.js'
import type { CallAnswers } from '../voice/keypress.js'
import { pressKey } from '../voice/routes.js'
import { findCall } from '../voice/store.js'

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
  /** Console mode: codes still in use, shown in full on the outbox of the number they went to. */
  consoleTexts?: ConsoleTexts
  pricePerSegment: number
  /** USD per started call minute (VOICE_PRICE_PER_MINUTE). */
  pricePerCallMinute?: number
  /** Console mode: what a simulated keypress does (server/voice/keypress.ts). */
  callAnswers?: CallAnswers
}

const stylesheet = readFileSync(join(sourceDir(), 'static', 'style.css'), 'utf8')

/**
 * The web dashboard under /dashboard: sign-in by SMS code, then server-rendered pages (sessions, one
 * session's timeline, stats, settings, the console outbox) with live updates over Server-Sent Events.
 */
export function dashboardRouter(deps: DashboardDeps): Router {
  const { sql, clock, log, updates } = deps
  const sessions = createCookieSessions({ sql, clock, pepper: deps.pepper, secure: new URL(deps.publicUrl).protocol === 'https:' })
  const consoleMode = deps.transportName === 'console'
  const render = createRender({ showOutbox: consoleMode })
  const router = Router()

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

  router.use(loginRoutes({ sql, clock, pepper: deps.pepper, pairing: deps.pairing, sessions, render, consoleMode }))

  // ---- everything below needs a signed-in session, and every POST its CSRF token ----------------------

  router.use((req, res, next) => {
    if (req.dashboard) return next()
    if (req.path === '/live') return res.status(401).type('text').send('Sign in at /dashboard/login')
    if (req.method === 'GET' || req.method === 'HEAD') return res.redirect(303, '/dashboard/login')
    render(res, 401, 'Signed out', messagePage({ title: 'You are signed out', message: 'Sign in again to continue.', link: { href: '/dashboard/login', label: 'Sign in' } }))
  })

  const requireCsrf: RequestHandler = (req, res, next) => {
    if (req.method !== 'POST') return next()
    const cookieValue = readCookie(req, sessions.sessionCookie)
    if (cookieValue && sessions.csrfMatches(cookieValue, (req.body as Record<string, unknown> | undefined)?.csrf)) return next()
    req.log.warn({ path: req.path }, 'dashboard form rejected: missing or wrong CSRF token')
    const page = messagePage({ title: 'This form has expired', message: 'Go back, reload the page and try again.', link: { href: '/dashboard/sessions', label: 'Back to the dashboard' } })
    render(res, 403, 'Form expired', page, { req })
  }
  router.use(requireCsrf)

  router.post('/logout', async (req, res) => {
    await sessions.end(res, req.dashboard!.id)
    updates.publish({ userId: req.dashboard!.userId, monitoringId: null, kind: 'signed_out' })
    res.redirect(303, '/dashboard/login?signed_out=1')
  })

  router.get('/', (_req, res) => res.redirect(303, '/dashboard/sessions'))

  router.get('/live', liveUpdates(updates, { clock, sessionStands: sessions.stands }))

  router.get('/sessions', async (req, res) => {
    const d = req.dashboard!
    const [settings, list] = await Promise.all([loadSettings(sql, d.userId), listSessions(sql, d.userId)])
    render(res, 200, 'Sessions', sessionsPage({ sessions: list, timeZone: settings.timeZone, now: clock.now() }), { req, current: 'sessions', live: {} })
  })

  router.get('/sessions/:id', async (req, res) => {
    const d = req.dashboard!
    const [settings, detail] = await Promise.all([loadSettings(sql, d.userId), findSessionDetail(sql, d.userId, String(req.params.id))])
    if (!detail) return notFoundPage(req, res)
    const calls = await sessionCalls(sql, d.userId, detail.id)
    render(res, 200, detail.description, sessionPage({ session: detail, timeZone: settings.timeZone, now: clock.now(), calls }), { req, current: 'sessions', live: { monitoringId: detail.id } })
  })

  router.get('/stats', async (req, res) => {
    const d = req.dashboard!
    const settings = await loadSettings(sql, d.userId)
    const stats = await loadStats(sql, d.userId, { now: clock.now(), timeZone: settings.timeZone, pricePerSegment: deps.pricePerSegment })
    const pricePerCallMinute = deps.pricePerCallMinute ?? 0
    const month = await monthCallStats(sql, d.userId, stats.monthStart)
    const calls = { ...month, costUsd: month.minutes * pricePerCallMinute, pricePerMinute: pricePerCallMinute }
    render(res, 200, 'Stats', statsPage({ stats, pricePerSegment: deps.pricePerSegment, timeZone: settings.timeZone, consoleMode, calls }), { req, current: 'stats', live: {} })
  })

  router.use(settingsRoutes({ sql, clock, updates, render, sessions }))

  router.get('/outbox', async (req, res) => {
    if (!consoleMode) return notFoundPage(req, res, 'The outbox lists texts only when Twilio is not configured (console transport); this server sends real texts.')
    const userId = req.dashboard!.userId
    const settings = await loadSettings(sql, userId)
    // Each person sees only the texts to their own number (others' codes would let them pair as them);
    // a code still in use is shown in full to that number, as their phone would have shown it.
    const rows = await sql<{ id: string; to_masked: string; kind: string; body: string; segments: number; created_at: Date; provider_sid: string | null }[]>`
      select m.id, m.to_masked, m.kind, m.body, m.segments, m.created_at, m.provider_sid
      from sms_messages m join users u on u.phone_hash = m.to_hash
      where m.transport = 'console' and u.id = ${userId} order by m.created_at desc limit 100`
    const now = clock.now()
    const fullBody = (sid: string | null) => (sid ? deps.consoleTexts?.fullBody(sid, now) : undefined)
    const texts: OutboxText[] = rows.map((r) => ({ id: r.id, toMasked: r.to_masked, kind: r.kind, body: fullBody(r.provider_sid) ?? r.body, segments: r.segments, createdAt: r.created_at }))
    const calls = outboxCalls(await consoleCalls(sql, userId), req.dashboard!.csrfToken, settings.timeZone, now)
    render(res, 200, 'Outbox', outboxPage({ texts, timeZone: settings.timeZone, now, calls }), { req, current: 'outbox', live: {} })
  })

  // Console mode: play the person who answers a call and presses a key; the same path as Twilio's Gather result.
  router.post('/outbox/calls/:id/keypress', async (req, res) => {
    const call = consoleMode && deps.callAnswers ? await findCall(sql, String(req.params.id)) : undefined
    if (!call || call.user_id !== req.dashboard!.userId || call.transport !== 'console' || !call.provider_sid) return notFoundPage(req, res)
    const digits = String((req.body as Record<string, unknown>)?.digits ?? '')
    if (!/^[0-9]$/.test(digits)) throw new ApiError(400, 'invalid_request', 'Choose a key: 1 allows, 2 denies, 9 reads the request again.')
    await pressKey({ sql, clock, answers: deps.callAnswers! }, call, call.provider_sid, digits)
    req.log.info({ call_id: call.id, digits }, 'keypress simulated on a console call')
    res.redirect(303, '/dashboard/outbox')
  })

  router.use((req, res) => notFoundPage(req, res))

  // Dashboard failures are pages, not JSON: a person is looking at them.
  const htmlErrors: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err)
    const back = { href: '/dashboard', label: 'Back to the dashboard' }
    if (err instanceof ApiError && err.status < 500) return render(res, err.status, 'Error', messagePage({ title: 'That did not work', message: err.message, link: back }), { req })
    ;(req.log ?? log).error({ err }, 'dashboard error')
    render(res, 500, 'Error', messagePage({ title: 'Something went wrong', message: 'The server could not show this page; it has been logged. Try again in a moment.', link: back }), { req })
  }
  router.use(htmlErrors)

  function notFoundPage(req: Request, res: Response, message = 'There is no such page, or it belongs to someone else.') {
    render(res, 404, 'Not found', messagePage({ title: 'Not found', message, link: { href: '/dashboard/sessions', label: 'Your sessions' } }), { req })
  }

  return router
}

function sourceDir(): string {
  // Works from server/dashboard/*.ts (vitest) and from build/server/dashboard/*.js (npm start).
  const here = dirname(fileURLToPath(import.meta.url))
  const parts = here.split('/')
  const buildIndex = parts.lastIndexOf('build')
  if (buildIndex >= 0 && parts[buildIndex + 1] === 'server') return join(parts.slice(0, buildIndex).join('/'), ...parts.slice(buildIndex + 1))
  return here
}
