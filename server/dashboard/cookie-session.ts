import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Request, Response } from 'express'
import type { Sql } from 'postgres'
import type { Clock } from '../clock.js'

/** A signed-in dashboard visitor, as found from the session cookie. */
export interface DashboardSession {
  id: string
  userId: string
  phoneMasked: string
  expiresAt: Date
  /** Goes into every form as a hidden field; derived from the cookie value, so it dies with the session. */
  csrfToken: string
}

export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000
/** The login form's own short-lived cookie: carries the pending code challenge and the pre-login CSRF key. */
export const LOGIN_TTL_MS = 15 * 60 * 1000

export interface CookieSessionOptions {
  sql: Sql
  clock: Clock
  /** Server-side key (config.pepper) for the CSRF tokens. */
  pepper: string
  /** Secure cookies unless the dashboard is served over plain http (loopback or an http PUBLIC_URL). */
  secure: boolean
}

/**
 * Server-side cookie sessions: the cookie holds 32 random bytes, the database only their SHA-256
 * (a high-entropy value needs no pepper). Cookies are HttpOnly, SameSite=Lax (a link from a text or a
 * mail still opens the dashboard signed in; a cross-site POST carries no cookie) and Secure whenever the
 * public address is https, where the __Host- prefix also pins them to this host and path /.
 */
export function createCookieSessions(opts: CookieSessionOptions) {
  const { sql, clock } = opts
  const prefix = opts.secure ? '__Host-' : ''
  const sessionCookie = `${prefix}sms_dashboard`
  const loginCookie = `${prefix}sms_dashboard_login`
  const codeCookie = `${prefix}sms_dashboard_code`
  const csrfKey = createHmac('sha256', opts.pepper).update('claude-sms-notifier/dashboard-csrf/v1').digest()

  const hashToken = (value: string) => createHash('sha256').update(value).digest('hex')
  const csrfFor = (cookieValue: string) => createHmac('sha256', csrfKey).update(cookieValue).digest('base64url')
  const cookieOptions = (expires: Date) => ({ httpOnly: true, secure: opts.secure, sameSite: 'lax' as const, path: '/', expires })

  return {
    sessionCookie,
    loginCookie,

    /** Starts a session for this user and sets its cookie. */
    async start(res: Response, userId: string): Promise<void> {
      const value = randomBytes(32).toString('base64url')
      const now = clock.now()
      const expiresAt = new Date(now.getTime() + SESSION_TTL_MS)
      await sql`
        insert into dashboard_sessions (user_id, token_hash, created_at, expires_at)
        values (${userId}, ${hashToken(value)}, ${now}, ${expiresAt})`
      // Sessions a day past their end are of no use to anyone.
      await sql`delete from dashboard_sessions where expires_at < ${new Date(now.getTime() - 86_400_000)}`
      res.cookie(sessionCookie, value, cookieOptions(expiresAt))
    },

    /** The live session behind the request's cookie, if any. */
    async find(req: Request): Promise<DashboardSession | undefined> {
      const value = readCookie(req, sessionCookie)
      if (!value || value.length > 100) return undefined
      const [row] = await sql<{ id: string; user_id: string; phone_masked: string; expires_at: Date }[]>`
        select s.id, s.user_id, u.phone_masked, s.expires_at
        from dashboard_sessions s join users u on u.id = s.user_id
        where s.token_hash = ${hashToken(value)} and s.revoked_at is null and s.expires_at > ${clock.now()}`
      if (!row) return undefined
      return { id: row.id, userId: row.user_id, phoneMasked: row.phone_masked, expiresAt: row.expires_at, csrfToken: csrfFor(value) }
    },

    /** True while the session is neither signed out nor expired (live streams ask when a sign-out happens). */
    async stands(sessionId: string): Promise<boolean> {
      const [row] = await sql`select 1 from dashboard_sessions where id = ${sessionId} and revoked_at is null and expires_at > ${clock.now()}`
      return Boolean(row)
    },

    /** Ends the session in the database (the cookie is worthless from now on) and clears the cookie. */
    async end(res: Response, sessionId: string): Promise<void> {
      await sql`update dashboard_sessions set revoked_at = ${clock.now()} where id = ${sessionId} and revoked_at is null`
      res.clearCookie(sessionCookie, { httpOnly: true, secure: opts.secure, sameSite: 'lax', path: '/' })
    },

    /**
     * The login form's cookie value, set if missing: before sign-in there is no session to tie the CSRF
     * token to, so the token is tied to this cookie instead (a forged login POST lacks both).
     */
    loginNonce(req: Request, res: Response): string {
      const existing = readCookie(req, loginCookie)
      if (existing && /^[\w-]{43}$/.test(existing)) return existing
      const value = randomBytes(32).toString('base64url')
      res.cookie(loginCookie, value, cookieOptions(new Date(clock.now().getTime() + LOGIN_TTL_MS)))
      return value
    },

    readLoginNonce(req: Request): string | undefined {
      const value = readCookie(req, loginCookie)
      return value && /^[\w-]{43}$/.test(value) ? value : undefined
    },

    clearLoginNonce(res: Response): void {
      res.clearCookie(loginCookie, { httpOnly: true, secure: opts.secure, sameSite: 'lax', path: '/' })
    },

    /** The temp token of a sign-in code just texted, kept between the two login steps (HttpOnly). */
    setPendingCode(res: Response, tempToken: string, expiresAt: Date): void {
      res.cookie(codeCookie, tempToken, cookieOptions(expiresAt))
    },

    readPendingCode(req: Request): string | undefined {
      const value = readCookie(req, codeCookie)
      return value && /^[\w-]{43}$/.test(value) ? value : undefined
    },

    clearPendingCode(res: Response): void {
      res.clearCookie(codeCookie, { httpOnly: true, secure: opts.secure, sameSite: 'lax', path: '/' })
    },

    csrfFor,

    /** True when the submitted token was derived from this cookie value. */
    csrfMatches(cookieValue: string, submitted: unknown): boolean {
      if (typeof submitted !== 'string' || submitted.length > 100) return false
      const expected = Buffer.from(csrfFor(cookieValue))
      const given = Buffer.from(submitted)
      return expected.length === given.length && timingSafeEqual(expected, given)
    },

    hashToken,
  }
}

export type CookieSessions = ReturnType<typeof createCookieSessions>

/** One cookie from the Cookie header (RFC 6265 §5.4: "name=value" pairs separated by "; "). */
export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() !== name) continue
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1')
    try {
      return decodeURIComponent(raw)
    } catch {
      return undefined
    }
  }
  return undefined
}
