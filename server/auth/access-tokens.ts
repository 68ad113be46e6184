import { randomUUID } from 'node:crypto'
import type { RequestHandler } from 'express'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import type { Sql } from 'postgres'
import { ACCESS_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'

const ISSUER = 'claude-sms-notifier'
const AUDIENCE = 'claude-sms-notifier/api'

export interface AuthenticatedUser {
  id: string
  phoneE164: string
  phoneMasked: string
  jti: string
  expiresAt: Date
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      user?: AuthenticatedUser
    }
  }
}

export interface IssuedToken {
  accessToken: string
  jti: string
  expiresIn: number
  expiresAt: Date
}

export interface AccessTokens {
  issue(userId: string, opts?: { deviceFingerprint?: string }): Promise<IssuedToken>
  /** The user behind a bearer token, or an ApiError 401 (unauthorized / token_expired). */
  verify(token: string): Promise<AuthenticatedUser>
  revoke(jti: string): Promise<void>
  revokeAllForUser(userId: string): Promise<number>
}

/** HS256 JWTs (jose) with issuer and audience pinned, and a jti row that makes revocation immediate. */
export function createAccessTokens(deps: { sql: Sql; secret: string; clock: Clock; ttlSeconds?: number }): AccessTokens {
  const key = new TextEncoder().encode(deps.secret)
  const ttl = deps.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS
  const { sql, clock } = deps

  return {
    async issue(userId, opts = {}) {
      const now = clock.now()
      const iat = Math.floor(now.getTime() / 1000)
      const exp = iat + ttl
      const jti = randomUUID()
      await sql`
        insert into access_tokens (jti, user_id, issued_at, expires_at, device_fingerprint)
        values (${jti}, ${userId}, ${new Date(iat * 1000)}, ${new Date(exp * 1000)}, ${opts.deviceFingerprint ?? null})`
      const accessToken = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(jti)
        .sign(key)
      return { accessToken, jti, expiresIn: ttl, expiresAt: new Date(exp * 1000) }
    },

    async verify(token) {
      let payload
      try {
        ;({ payload } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          issuer: ISSUER,
          audience: AUDIENCE,
          currentDate: clock.now(),
          requiredClaims: ['sub', 'jti', 'exp'],
        }))
      } catch (e) {
        if (e instanceof joseErrors.JWTExpired) throw new ApiError(401, 'token_expired', 'Your pairing has expired. Pair again with /sms-notifier:sms-setup.')
        throw new ApiError(401, 'unauthorized', 'The access token is not valid. Pair again with /sms-notifier:sms-setup.')
      }
      const [row] = await sql<{ id: string; phone_e164: string; phone_masked: string; revoked_at: Date | null; expires_at: Date }[]>`
        select u.id, u.phone_e164, u.phone_masked, t.revoked_at, t.expires_at
        from access_tokens t join users u on u.id = t.user_id
        where t.jti = ${payload.jti!} and t.user_id = ${payload.sub!}`
      if (!row || row.revoked_at) throw new ApiError(401, 'unauthorized', 'This access token has been revoked. Pair again with /sms-notifier:sms-setup.')
      return { id: row.id, phoneE164: row.phone_e164, phoneMasked: row.phone_masked, jti: payload.jti!, expiresAt: row.expires_at }
    },

    async revoke(jti) {
      await sql`update access_tokens set revoked_at = ${clock.now()} where jti = ${jti} and revoked_at is null`
    },

    async revokeAllForUser(userId) {
      const rows = await sql`update access_tokens set revoked_at = ${clock.now()} where user_id = ${userId} and revoked_at is null returning jti`
      return rows.length
    },
  }
}

/** Express middleware: a valid, unrevoked `Authorization: Bearer <jwt>` sets req.user; anything else is 401. */
export function requireAccessToken(tokens: AccessTokens): RequestHandler {
  return async (req, _res, next) => {
    try {
      const token = bearerToken(req.headers.authorization)
      if (!token) throw new ApiError(401, 'unauthorized', 'Missing "Authorization: Bearer <token>" header. Pair with /sms-notifier:sms-setup first.')
      req.user = await tokens.verify(token)
      next()
    } catch (e) {
      next(e)
    }
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match?.[1]
}
