import type { z } from 'zod'
import type { ExchangeResponse } from '../contract/api.js'
import { ServerRejected, ServerUnreachable, type Api } from './api.js'
import type { Logger } from './log.js'
import { AuthFile, readJson, removeFile, writeJsonAtomic, type StorePaths } from './store.js'

export const PAIRING_EXPIRED = 'Your pairing expired. Run /sms-notifier:sms-setup.'
export const PAIRING_ENDED = 'Your pairing reached the end of its lifetime (the server ends every pairing after a fixed number of days). Run /sms-notifier:sms-setup to pair again.'
export const NOT_PAIRED = 'Not paired yet. Run /sms-notifier:sms-setup first.'

export type AuthCheck = { ok: true; auth: AuthFile } | { ok: false; message: string }

/**
 * The pairing this computer holds (auth.json): the access token, refreshed before it expires.
 * The token lives 36 h (DESIGN §5); from half-life on, any use refreshes it first.
 *
 * Every MCP server process of this user (one per Claude Code session) shares auth.json, and the server
 * rotates a token when it is refreshed (the old one works on for a short grace only). So the file is
 * read again right before each refresh, and again after any 401: another process may have rotated the
 * token already, and then the newer token in the file is the one to use, not a reason to unpair.
 */
export function createAuth(deps: { paths: StorePaths; api: Api; log: Logger; now?: () => Date; authUrl: string | undefined }) {
  const now = deps.now ?? (() => new Date())

  const load = () => readJson(deps.paths.authFile, AuthFile)

  async function save(serverUrl: string, answer: z.infer<typeof ExchangeResponse>): Promise<AuthFile> {
    const auth: AuthFile = {
      server_url: serverUrl,
      access_token: answer.access_token,
      expires_at: answer.expires_at,
      phone: answer.phone,
      paired_at: now().toISOString(),
      ...(answer.pairing_expires_at ? { pairing_expires_at: answer.pairing_expires_at } : {}),
    }
    await writeJsonAtomic(deps.paths.authFile, auth)
    return auth
  }

  const clear = () => removeFile(deps.paths.authFile)

  /** The pairing is over: forget it (unless another process already holds a newer token). */
  async function expired(message = PAIRING_EXPIRED): Promise<{ ok: false; message: string }> {
    await clear()
    return { ok: false, message }
  }

  /**
   * The server answered 401 to `rejectedToken`. When auth.json now holds another token (a sibling
   * process refreshed it meanwhile), that one is the pairing to use; otherwise the pairing is over.
   */
  async function rejected(rejectedToken: string, code?: string): Promise<AuthCheck> {
    const current = await load()
    if (current && current.access_token !== rejectedToken) {
      deps.log.info('the server refused an older token; auth.json holds a newer one (refreshed by another session)')
      return { ok: true, auth: current }
    }
    if (current && current.access_token === rejectedToken) await clear()
    return { ok: false, message: code === 'token_expired' && pairingEnded(current) ? PAIRING_ENDED : PAIRING_EXPIRED }
  }

  const pairingEnded = (auth: AuthFile | undefined) => Boolean(auth?.pairing_expires_at && Date.parse(auth.pairing_expires_at) <= now().getTime())

  /** The pairing, with a token refreshed when past half its life; or why there is none. */
  async function fresh(): Promise<AuthCheck> {
    const auth = await load()
    if (!auth) return { ok: false, message: NOT_PAIRED }
    if (deps.authUrl && auth.server_url !== deps.authUrl) {
      return { ok: false, message: `Paired with ${auth.server_url}, but CLAUDE_SMS_AUTH_URL is now ${deps.authUrl}. Run /sms-notifier:sms-setup to pair with it.` }
    }
    const expiresAt = Date.parse(auth.expires_at)
    const left = expiresAt - now().getTime()
    if (left <= 0) return expired(pairingEnded(auth) ? PAIRING_ENDED : PAIRING_EXPIRED)
    const lifetime = expiresAt - Date.parse(auth.paired_at)
    if (left > lifetime / 2) return { ok: true, auth }
    // A token that already ends with its pairing cannot be extended: refreshing it again gains nothing.
    if (auth.pairing_expires_at && expiresAt >= Date.parse(auth.pairing_expires_at)) return { ok: true, auth }
    try {
      const renewed = await deps.api.refresh(auth.server_url, auth.access_token)
      const next: AuthFile = {
        ...auth,
        access_token: renewed.access_token,
        expires_at: renewed.expires_at,
        paired_at: now().toISOString(),
        ...(renewed.pairing_expires_at ? { pairing_expires_at: renewed.pairing_expires_at } : {}),
      }
      await writeJsonAtomic(deps.paths.authFile, next)
      deps.log.info({ expires_at: next.expires_at }, 'access token refreshed')
      return { ok: true, auth: next }
    } catch (error) {
      if (error instanceof ServerRejected && error.status === 401) return rejected(auth.access_token, error.code)
      // Unreachable or a passing failure: the current token still works until it expires.
      if (!(error instanceof ServerUnreachable)) deps.log.warn({ err: error }, 'token refresh failed')
      return { ok: true, auth }
    }
  }

  return { load, save, clear, fresh, expired, rejected }
}

export type Auth = ReturnType<typeof createAuth>
