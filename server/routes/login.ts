import { Router, type Response } from 'express'
import { LoginForm, LoginQuery, RemoteLoginRequest } from '../../contract/api.js'
import { crossSiteRequest, ownOrigins } from '../http/cross-site.js'
import { ApiError, methodNotAllowed, parseOr400 } from '../http/errors.js'
import { badLoginLinkPage, loginFormPage } from '../pages/login.js'
import { callbackRedirect, loopbackCallback } from '../pairing/callback-uri.js'
import { startPairing, type PairingDeps } from '../pairing/start-pairing.js'

const CROSS_SITE_MESSAGE = 'This sign-in request came from another website, so no code was sent. Start pairing from Claude Code (/sms-notifier:sms-setup) and use the page it opens.'
const LOOPBACK_RULE = 'callback_uri must be a loopback address of this computer: http://127.0.0.1:<port>/... or http://localhost:<port>/...'

/**
 * GET /login shows the phone form; POST /login sends the code, either from that form (303 back to the
 * plugin's loopback callback) or as JSON in remote mode (no browser, e.g. over SSH).
 */
export function loginRouter(deps: { pairing: PairingDeps; publicUrl: string }): Router {
  const router = Router()
  const defaultCallingCode = deps.pairing.allowedCountryCodes[0]
  const origins = ownOrigins(deps.publicUrl)
  const consoleMode = deps.pairing.sms.transportName === 'console'

  router
    .route('/login')
    .get((req, res) => {
      const query = LoginQuery.safeParse(req.query)
      if (!query.success) return badLink(res, firstIssue(query.error))
      if (!loopbackCallback(query.data.callback_uri)) return badLink(res, LOOPBACK_RULE)
      sendPage(res, 200, loginFormPage({ state: query.data.state, callbackUri: query.data.callback_uri, src: query.data.src, defaultCallingCode, consoleMode }), query.data.callback_uri)
    })
    .post(async (req, res, next) => {
      try {
        // A page of another site must not make its visitors' browsers ask for codes (texts to numbers
        // of its choosing, on this server's budget). The login page's own form is same-origin.
        if (crossSiteRequest({ origin: req.get('origin'), secFetchSite: req.get('sec-fetch-site') }, origins)) {
          req.log.warn({ origin: req.get('origin')?.slice(0, 100), sec_fetch_site: req.get('sec-fetch-site')?.slice(0, 20) }, 'cross-site POST /login refused')
          if (req.is('application/json')) throw new ApiError(403, 'forbidden', CROSS_SITE_MESSAGE)
          return sendPage(res, 403, badLoginLinkPage({ code: 'forbidden', message: CROSS_SITE_MESSAGE }))
        }
        if (req.is('application/json')) {
          const body = parseOr400(RemoteLoginRequest, req.body)
          const started = await startPairing(deps.pairing, { phone: body.phone, country: body.country, ip: clientIp(req.ip) })
          res.setHeader('Cache-Control', 'no-store')
          res.json({ temp_token: started.tempToken, phone: started.phoneMasked, expires_in: started.expiresIn, state: body.state, ...(consoleMode ? { sms: 'console' } : {}) })
          return
        }
        if (!req.is('application/x-www-form-urlencoded')) {
          throw new ApiError(415, 'unsupported_media_type', 'POST /login takes the form from the login page (application/x-www-form-urlencoded) or JSON {phone, state, mode: "remote"}')
        }
        const form = LoginForm.safeParse(req.body)
        const raw = (req.body ?? {}) as Record<string, unknown>
        const callbackField = typeof raw.callback_uri === 'string' ? raw.callback_uri : ''
        const stateField = typeof raw.state === 'string' ? raw.state : ''
        // The form cannot be shown again without a usable callback and state: that is a bad link, not a typo.
        const callback = loopbackCallback(callbackField)
        if (!callback) return badLink(res, LOOPBACK_RULE)
        if (!form.success) {
          const stateBroken = form.error.issues.some((i) => i.path[0] !== 'phone' && i.path[0] !== 'country')
          if (stateBroken) return badLink(res, firstIssue(form.error))
          const page = loginFormPage({ state: stateField, callbackUri: callbackField, phone: typeof raw.phone === 'string' ? raw.phone.slice(0, 40) : '', defaultCallingCode, consoleMode, error: { code: 'invalid_request', message: 'Enter your mobile number.' } })
          return sendPage(res, 400, page, callbackField)
        }
        const f = form.data
        try {
          const started = await startPairing(deps.pairing, { phone: f.phone, country: f.country, ip: clientIp(req.ip) })
          res.setHeader('Cache-Control', 'no-store')
          res.redirect(303, callbackRedirect(callback, { tempToken: started.tempToken, phoneMasked: started.phoneMasked, state: f.state, consoleMode }))
        } catch (e) {
          if (!(e instanceof ApiError)) throw e
          // A person at a browser: show the form again with what went wrong, not a JSON body.
          for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v)
          const page = loginFormPage({ state: f.state, callbackUri: f.callback_uri, phone: f.phone, defaultCallingCode, consoleMode, error: { code: e.code, message: e.message } })
          sendPage(res, e.status, page, f.callback_uri)
        }
      } catch (e) {
        next(e)
      }
    })
    .all(methodNotAllowed(['GET', 'POST']))

  return router
}

function clientIp(ip: string | undefined): string {
  return ip ?? 'unknown'
}

function firstIssue(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0]
  if (!issue) return 'The link is incomplete.'
  const field = issue.path.map(String).join('.')
  return field ? `${field}: ${issue.message}` : issue.message
}

function badLink(res: Response, message: string): void {
  sendPage(res, 400, badLoginLinkPage({ code: 'invalid_request', message }))
}

/**
 * Pages are never cached or framed, and may only post to this server and then be redirected to the
 * plugin's loopback callback (CSP form-action also governs the redirect that follows a form post).
 */
function sendPage(res: Response, status: number, html: string, callbackUri?: string): void {
  const callbackOrigin = callbackUri ? loopbackCallback(callbackUri)?.origin : undefined
  res.status(status)
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Frame-Options', 'DENY')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  // same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the page's own
  // form post, which the cross-site check could not tell from another site's (Fetch: serializing a
  // request origin). Nothing leaves for other origins, the plugin's loopback callback included.
  res.setHeader('Referrer-Policy', 'same-origin')
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'; form-action 'self'${callbackOrigin ? ` ${callbackOrigin}` : ''}`,
  )
  res.send(html)
}
