import { randomUUID } from 'node:crypto'
import type { RequestHandler } from 'express'
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose'
import type { Sql } from 'postgres'
import { ACCESS_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'

const ISSUER = 'claude-sms-notifier'
const AUDIENCE = 'claude-sms-notifier/api'

/** How long a pairing (token family) lasts at most when the caller names no TOKEN_FAMILY_MAX_DAYS. */
export const DEFAULT_TOKEN_FAMILY_MAX_DAYS = 30
/**
 * A refreshed token keeps working this long after its refresh: several MCP server processes share one
 * auth.json, and one of them may be mid-request with the old token while another rotates it.
 */
export const ROTATION_GRACE_MS = 60_000

export interface AuthenticatedUser {
  id: string
  phoneE164: string
  phoneMasked: string
  jti: string
  expiresAt: Date
  /** The pairing this token belongs to: one /auth/exchange and every token refreshed from it. */
  familyId: string
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
  familyId: string
  /** The family's absolute end: no refresh reaches past it. */
  familyExpiresAt: Date
}

export type RevokeReason = 'logout' | 'refresh_reuse' | 'opted_out' | 'signed_out_everywhere'

export interface AccessTokens {
  /** A new pairing: a new token family and its first token. */
  issue(userId: string, opts?: { deviceFingerprint?: string }): Promise<IssuedToken>
  /** The user behind a bearer token, or an ApiError 401 (unauthorized / token_expired). */
  verify(token: string): Promise<AuthenticatedUser>
  /**
   * /auth/refresh: a new token in the same family, never past the family's end. The presented token
   * keeps working for ROTATION_GRACE_MS; presented again for a refresh after that, it revokes the family
   * (only a copy of a token that was already refreshed can do that: a stolen one, or the thief's).
   */
  refresh(token: string): Promise<{ user: AuthenticatedUser; issued: IssuedToken }>
  /** Logout: every token of this pairing dies now. Returns how many tokens were still alive. */
  revokeFamily(familyId: string, reason: RevokeReason): Promise<number>
}

type TokenCheck =
  | { ok: true; user: AuthenticatedUser; familyExpiresAt: Date }
  | { ok: false; error: ApiError; superseded?: { familyId: string } }

const PAIR_AGAIN = 'Pair again with /sms-notifier:sms-setup.'

/**
 * HS256 JWTs (jose) with issuer and audience pinned. Each jti has a row whose revocation, stored expiry,
 * rotation and family the server checks on every use, so revocation is immediate and the JWT's own
 * `exp` claim is not the only limit.
 */
export function createAccessTokens(deps: { sql: Sql; secret: string; clock: Clock; ttlSeconds?: number; familyMaxDays?: number; rotationGraceMs?: number }): AccessTokens {
  const key = new TextEncoder().encode(deps.secret)
  const ttlMs = (deps.ttlSeconds ?? ACCESS_TOKEN_TTL_SECONDS) * 1000
  const familyMaxMs = (deps.familyMaxDays ?? DEFAULT_TOKEN_FAMILY_MAX_DAYS) * 86_400_000
  const graceMs = deps.rotationGraceMs ?? ROTATION_GRACE_MS
  const { sql, clock } = deps

  /** Signs a token whose row the caller inserts; it ends at `end` (whole seconds), never later. */
  async function sign(userId: string, familyId: string, familyExpiresAt: Date, now: Date) {
    const iat = Math.floor(now.getTime() / 1000)
    const exp = Math.floor(Math.min(now.getTime() + ttlMs, familyExpiresAt.getTime()) / 1000)
    const jti = randomUUID()
    const accessToken = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(jti)
      .sign(key)
    const issued: IssuedToken = { accessToken, jti, expiresIn: Math.max(0, exp - iat), expiresAt: new Date(exp * 1000), familyId, familyExpiresAt }
    return { issued, issuedAt: new Date(iat * 1000) }
  }

  async function check(token: string): Promise<TokenCheck> {
    const now = clock.now()
    let payload
    try {
      ;({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, currentDate: now, requiredClaims: ['sub', 'jti', 'exp'] }))
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) return { ok: false, error: new ApiError(401, 'token_expired', `Your pairing has expired. ${PAIR_AGAIN}`) }
      return { ok: false, error: new ApiError(401, 'unauthorized', `The access token is not valid. ${PAIR_AGAIN}`) }
    }
    const [row] = await sql<
      {
        id: string
        phone_e164: string
        phone_masked: string
        revoked_at: Date | null
        expires_at: Date
        rotated_at: Date | null
        family_id: string
        family_revoked_at: Date | null
        family_expires_at: Date
      }[]
    >`
      select u.id, u.phone_e164, u.phone_masked, t.revoked_at, t.expires_at, t.rotated_at,
             f.id as family_id, f.revoked_at as family_revoked_at, f.expires_at as family_expires_at
      from access_tokens t join token_families f on f.id = t.family_id join users u on u.id = t.user_id
      where t.jti = ${payload.jti!} and t.user_id = ${payload.sub!}`.catch((e: unknown) => {
      // 22P02: a well-signed token whose claims are not UUIDs (only our key could sign it; still no 500).
      if ((e as { code?: string }).code === '22P02') return []
      throw e
    })
    if (!row || row.revoked_at || row.family_revoked_at) {
      return { ok: false, error: new ApiError(401, 'unauthorized', `This access token has been revoked (logged out, signed out everywhere, or STOP texted). ${PAIR_AGAIN}`) }
    }
    if (row.family_expires_at <= now) {
      return { ok: false, error: new ApiError(401, 'token_expired', `This pairing has reached its end (pairings last at most ${familyMaxMs / 86_400_000} days). ${PAIR_AGAIN}`) }
    }
    // The stored expiry, not only the claim: a row cut short (or a claim the row does not back) wins.
    if (row.expires_at <= now) return { ok: false, error: new ApiError(401, 'token_expired', `Your pairing has expired. ${PAIR_AGAIN}`) }
    if (row.rotated_at && now.getTime() - row.rotated_at.getTime() > graceMs) {
      return {
        ok: false,
        error: new ApiError(401, 'unauthorized', `This access token was replaced by a refreshed one; use the newest token in auth.json, or ${PAIR_AGAIN.toLowerCase()}`),
        superseded: { familyId: row.family_id },
      }
    }
    return {
      ok: true,
      user: { id: row.id, phoneE164: row.phone_e164, phoneMasked: row.phone_masked, jti: payload.jti!, expiresAt: row.expires_at, familyId: row.family_id },
      familyExpiresAt: row.family_expires_at,
    }
  }

  async function revokeFamily(familyId: string, reason: RevokeReason): Promise<number> {
    const now = clock.now()
    await sql`update token_families set revoked_at = ${now}, revoke_reason = ${reason} where id = ${familyId} and revoked_at is null`
    const tokens = await sql`update access_tokens set revoked_at = ${now} where family_id = ${familyId} and revoked_at is null returning 1`
    return tokens.length
  }

  return {
    async issue(userId, opts = {}) {
      // Whole seconds, as in the JWT: the last token of the family ends exactly when the family does.
      const now = new Date(Math.floor(clock.now().getTime() / 1000) * 1000)
      const familyId = randomUUID()
      const familyExpiresAt = new Date(now.getTime() + familyMaxMs)
      const { issued, issuedAt } = await sign(userId, familyId, familyExpiresAt, now)
      await sql.begin(async (tx) => {
        await tx`insert into token_families (id, user_id, created_at, expires_at) values (${familyId}, ${userId}, ${now}, ${familyExpiresAt})`
        await tx`
          insert into access_tokens (jti, user_id, issued_at, expires_at, device_fingerprint, family_id)
          values (${issued.jti}, ${userId}, ${issuedAt}, ${issued.expiresAt}, ${opts.deviceFingerprint ?? null}, ${familyId})`
      })
      return issued
    },

    async verify(token) {
      const checked = await check(token)
      if (!checked.ok) throw checked.error
      return checked.user
    },

    async refresh(token) {
      const checked = await check(token)
      if (!checked.ok) {
        if (checked.superseded) {
          await revokeFamily(checked.superseded.familyId, 'refresh_reuse')
          throw new ApiError(401, 'unauthorized', `This access token had already been refreshed, so a copy of it may be in someone else's hands: every token of this pairing is revoked. ${PAIR_AGAIN}`, {
            reason: 'refresh_reuse',
          })
        }
        throw checked.error
      }
      const { user, familyExpiresAt } = checked
      const now = clock.now()
      const { issued, issuedAt } = await sign(user.id, user.familyId, familyExpiresAt, now)
      const rotated = await sql.begin(async (tx) => {
        // A revocation racing this refresh either comes first (and this refresh is refused) or waits for
        // it (and revokes the child too). Family before token, the order revocations lock them in.
        const [family] = await tx<{ revoked_at: Date | null }[]>`select revoked_at from token_families where id = ${user.familyId} for share`
        const [parent] = await tx<{ revoked_at: Date | null }[]>`select revoked_at from access_tokens where jti = ${user.jti} for update`
        if (!parent || parent.revoked_at || !family || family.revoked_at) return false
        await tx`
          insert into access_tokens (jti, user_id, issued_at, expires_at, family_id, parent_jti)
          values (${issued.jti}, ${user.id}, ${issuedAt}, ${issued.expiresAt}, ${user.familyId}, ${user.jti})`
        // The first refresh starts the grace; a sibling process refreshing the same parent within it gets
        // a token of its own but does not extend the parent's life.
        await tx`update access_tokens set rotated_at = coalesce(rotated_at, ${now}) where jti = ${user.jti}`
        return true
      })
      if (!rotated) throw new ApiError(401, 'unauthorized', `This access token has been revoked. ${PAIR_AGAIN}`)
      return { user, issued }
    },

    revokeFamily,
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
