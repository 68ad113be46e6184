import { Router, type Response } from 'express'
import type { Sql } from 'postgres'
import { ExchangeRequest } from '../../contract/api.js'
import { requireAccessToken, type AccessTokens, type IssuedToken } from '../auth/access-tokens.js'
import { endMonitoringSessions } from '../auth/end-sessions.js'
import type { Clock } from '../clock.js'
import { methodNotAllowed, parseOr400 } from '../http/errors.js'
import { exchangePairingCode, type ExchangeDeps } from '../pairing/exchange.js'

/** POST /auth/exchange (temp token + code → access token), /auth/refresh, /auth/logout. */
export function authRouter(deps: { sql: Sql; clock: Clock; tokens: AccessTokens; exchange: ExchangeDeps }): Router {
  const router = Router()
  const authenticated = requireAccessToken(deps.tokens)

  router
    .route('/auth/exchange')
    .post(async (req, res) => {
      const body = parseOr400(ExchangeRequest, req.body)
      const { user, issued } = await exchangePairingCode(deps.exchange, {
        tempToken: body.temp_token,
        pairingCode: body.pairing_code,
        deviceFingerprint: body.device_fingerprint,
      })
      sendToken(res, issued, user.phoneMasked)
    })
    .all(methodNotAllowed(['POST']))

  // The old token stays valid until it expires: several Claude Code sessions of one person share it,
  // and one refreshing must not log the others out mid-session. Logout revokes explicitly.
  router
    .route('/auth/refresh')
    .post(authenticated, async (req, res) => {
      const issued = await deps.tokens.issue(req.user!.id)
      sendToken(res, issued, req.user!.phoneMasked)
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/auth/logout')
    .post(authenticated, async (req, res) => {
      const user = req.user!
      await deps.tokens.revoke(user.jti)
      const sessionsCleared = await endMonitoringSessions(deps.sql, user.id, { reason: 'logout', now: deps.clock.now() })
      req.log.info({ user_id: user.id, sessions_cleared: sessionsCleared }, 'logged out')
      res.json({ revoked: true, sessions_cleared: sessionsCleared })
    })
    .all(methodNotAllowed(['POST']))

  return router
}

/** The answer of /auth/exchange and /auth/refresh (DESIGN §5): a fresh access token, never cached. */
function sendToken(res: Response, issued: IssuedToken, phoneMasked: string): void {
  res.setHeader('Cache-Control', 'no-store')
  res.json({
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    expires_at: issued.expiresAt.toISOString(),
    phone: phoneMasked,
  })
}
