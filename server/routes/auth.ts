import { Router, type Response } from 'express'
import type { Sql } from 'postgres'
import { ExchangeRequest } from '../../contract/api.js'
import { bearerToken, requireAccessToken, type AccessTokens, type IssuedToken } from '../auth/access-tokens.js'
import { endMonitoringSessions } from '../auth/end-sessions.js'
import type { Clock } from '../clock.js'
import { ApiError, methodNotAllowed, parseOr400 } from '../http/errors.js'
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

  // Rotation: the presented token keeps working for a short grace (sibling MCP processes sharing
  // auth.json may be mid-request with it), then only the new one does; both belong to the same family,
  // which ends TOKEN_FAMILY_MAX_DAYS after pairing however often it is refreshed.
  router
    .route('/auth/refresh')
    .post(async (req, res) => {
      const token = bearerToken(req.headers.authorization)
      if (!token) throw new ApiError(401, 'unauthorized', 'Missing "Authorization: Bearer <token>" header. Pair with /sms-notifier:sms-setup first.')
      try {
        const { user, issued } = await deps.tokens.refresh(token)
        sendToken(res, issued, user.phoneMasked)
      } catch (e) {
        if (e instanceof ApiError && e.details.reason === 'refresh_reuse') req.log.warn('a refreshed token was presented again after its grace: its pairing is revoked')
        throw e
      }
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/auth/logout')
    .post(authenticated, async (req, res) => {
      const user = req.user!
      // The whole family: a copy of any token refreshed from this pairing dies with it.
      await deps.tokens.revokeFamily(user.familyId, 'logout')
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
    // Additive to DESIGN §5: no refresh reaches past this; then the person pairs again.
    pairing_expires_at: issued.familyExpiresAt.toISOString(),
  })
}
