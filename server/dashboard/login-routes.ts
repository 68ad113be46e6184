import { Router, type Request, type Response } from 'express'
import type { Sql } from 'postgres'
import { z } from 'zod'
import { TEMP_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import { startPairing, type PairingDeps } from '../pairing/start-pairing.js'
import type { CookieSessions } from './cookie-session.js'
import { checkDashboardCode, pendingDashboardCode } from './login-code.js'
import { loginCodePage, loginPhonePage } from './pages/login.js'
import { messagePage } from './pages/message.js'
import type { Render } from './render.js'

const PhoneForm = z.object({ phone: z.string().trim().min(3, 'Enter your mobile number.').max(40, 'That number is too long.') })
const CodeForm = z.object({ code: z.string().transform((s) => s.replace(/\s+/g, '')).pipe(z.string().regex(/^\d{6}$/, 'Enter the 6 digits of the code we texted.')) })

/**
 * Sign-in in two steps, GET/POST /dashboard/login (the number) and /dashboard/login/code (the code).
 * Before sign-in there is no session, so the forms' CSRF token is tied to a short-lived login cookie.
 */
export function loginRoutes(deps: { sql: Sql; clock: Clock; pepper: string; pairing: PairingDeps; sessions: CookieSessions; render: Render; consoleMode: boolean }): Router {
  const { sql, clock, sessions, render, consoleMode } = deps
  const router = Router()

  const csrfToken = (req: Request, res: Response) => sessions.csrfFor(sessions.loginNonce(req, res))
  const csrfOk = (req: Request) => {
    const nonce = sessions.readLoginNonce(req)
    return nonce !== undefined && sessions.csrfMatches(nonce, (req.body as Record<string, unknown> | undefined)?.csrf)
  }
  const expiredForm = (res: Response) =>
    render(res, 403, 'Form expired', messagePage({ title: 'This form has expired', message: 'Reload the page and try again.', link: { href: '/dashboard/login', label: 'Sign in' } }))

  router.get('/login', (req, res) => {
    if (req.dashboard) return res.redirect(303, '/dashboard/sessions')
    if (req.query.again) sessions.clearPendingCode(res)
    const notice = req.query.ended ? 'That code has expired, was used, or was mistyped too often. Ask for a new one.' : req.query.signed_out === 'everywhere'
        ? 'You are signed out everywhere: every computer paired with your number and every browser signed in to this dashboard. Pair again with /sms-notifier:sms-setup to get texts.'
        : req.query.signed_out
          ? 'You are signed out.'
          : undefined
    render(res, 200, 'Sign in', loginPhonePage({ csrfToken: csrfToken(req, res), consoleMode, notice, defaultCallingCode: deps.pairing.allowedCountryCodes[0] }))
  })

  router.post('/login', async (req, res) => {
    if (!csrfOk(req)) return expiredForm(res)
    const token = csrfToken(req, res)
    const form = PhoneForm.safeParse(req.body)
    if (!form.success) return render(res, 400, 'Sign in', loginPhonePage({ csrfToken: token, consoleMode, error: form.error.issues[0]!.message }))
    try {
      const started = await startPairing(deps.pairing, { phone: form.data.phone, ip: req.ip ?? 'unknown', purpose: 'dashboard' })
      sessions.setPendingCode(res, started.tempToken, new Date(clock.now().getTime() + TEMP_TOKEN_TTL_SECONDS * 1000))
      res.redirect(303, '/dashboard/login/code')
    } catch (e) {
      // Not a number we text, a send limit, or the provider down: the page says which.
      if (!(e instanceof ApiError)) throw e
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v)
      render(res, e.status, 'Sign in', loginPhonePage({ csrfToken: token, consoleMode, error: e.message, phone: form.data.phone }))
    }
  })

  router.get('/login/code', async (req, res) => {
    if (req.dashboard) return res.redirect(303, '/dashboard/sessions')
    const tempToken = sessions.readPendingCode(req)
    const pending = tempToken ? await pendingDashboardCode(sql, tempToken, clock.now()) : undefined
    if (!pending) return res.redirect(303, '/dashboard/login')
    render(res, 200, 'Enter the code', loginCodePage({ csrfToken: csrfToken(req, res), consoleMode, phoneMasked: pending.phoneMasked }))
  })

  router.post('/login/code', async (req, res) => {
    if (!csrfOk(req)) return expiredForm(res)
    const tempToken = sessions.readPendingCode(req)
    if (!tempToken) return res.redirect(303, '/dashboard/login?ended=1')
    const token = csrfToken(req, res)
    const form = CodeForm.safeParse(req.body)
    if (!form.success) {
      const pending = await pendingDashboardCode(sql, tempToken, clock.now())
      if (!pending) return res.redirect(303, '/dashboard/login?ended=1')
      return render(res, 400, 'Enter the code', loginCodePage({ csrfToken: token, consoleMode, phoneMasked: pending.phoneMasked, error: form.error.issues[0]!.message }))
    }
    const checked = await checkDashboardCode(
      { sql, clock, log: req.log, pepper: deps.pepper, sms: deps.pairing.sms, wrongCodesPerDay: deps.pairing.wrongCodesPerDay },
      { tempToken, code: form.data.code },
    )
    if (!checked.ok) {
      if (checked.reason === 'locked') {
        sessions.clearPendingCode(res)
        res.setHeader('Retry-After', String(checked.retryAfterSeconds))
        return render(res, 429, 'Sign-in locked', messagePage({ title: 'Sign-in is locked', message: checked.message, link: { href: '/dashboard/login', label: 'Back' } }))
      }
      if (checked.reason === 'ended') {
        sessions.clearPendingCode(res)
        return res.redirect(303, '/dashboard/login?ended=1')
      }
      const error = `That is not the code we texted to ${checked.phoneMasked}. ${checked.attemptsLeft} ${checked.attemptsLeft === 1 ? 'try' : 'tries'} left.`
      return render(res, 400, 'Enter the code', loginCodePage({ csrfToken: token, consoleMode, phoneMasked: checked.phoneMasked, error }))
    }
    sessions.clearPendingCode(res)
    sessions.clearLoginNonce(res)
    await sessions.start(res, checked.user.id)
    res.redirect(303, '/dashboard/sessions')
  })

  return router
}
