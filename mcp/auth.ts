import type { z } from 'zod'
import type { ExchangeResponse } from '../contract/api.js'
import { ServerRejected, ServerUnreachable, type Api } from './api.js'
import type { Logger } from './log.js'
import { AuthFile, readJson, removeFile, writeJsonAtomic, type StorePaths } from './store.js'

export const PAIRING_EXPIRED = 'Your pairing expired. Run /sms-notifier:sms-setup.'
export const NOT_PAIRED = 'Not paired yet. Run /sms-notifier:sms-setup first.'

export type AuthCheck = { ok: true; auth: AuthFile } | { ok: false; message: string }

/**
 * The pairing this computer holds (auth.json): the access token, refreshed before it expires.
 * The token lives 36 h (DESIGN §5); from half-life on, any use refreshes it first.
 */
export function createAuth(deps: { paths: StorePaths; api: Api; log: Logger; now?: () => Date; authUrl: string | undefined }) {
  const now = deps.now ?? (() => new Date())

  const load = () => readJson(deps.paths.authFile, AuthFile)

  async function save(serverUrl: string, answer: z.infer<typeof ExchangeResponse>): Promise<AuthFile> {
    const auth: AuthFile = { server_url: serverUrl, access_token: answer.access_token, expires_at: answer.expires_at, phone: answer.phone, paired_at: now().toISOString() }
    await writeJsonAtomic(deps.paths.authFile, auth)
    return auth
  }

  const clear = () => removeFile(deps.paths.authFile)

  /** A 401 on the access token: the pairing is over, forget it. */
  async function expired(): Promise<{ ok: false; message: string }> {
    await clear()
    return { ok: false, message: PAIRING_EXPIRED }
  }

  /** The pairing, with a token refreshed when past half its life; or why there is none. */
  async function fresh(): Promise<AuthCheck> {
    const auth = await load()
    if (!auth) return { ok: false, message: NOT_PAIRED }
    if (deps.authUrl && auth.server_url !== deps.authUrl) {
      return { ok: false, message: `Paired with ${auth.server_url}, but CLAUDE_SMS_AUTH_URL is now ${deps.authUrl}. Run /sms-notifier:sms-setup to pair with it.` }
    }
    const expiresAt = Date.parse(auth.expires_at)
    const left = expiresAt - now().getTime()
    if (left <= 0) return expired()
    const lifetime = expiresAt - Date.parse(auth.paired_at)
    if (left > lifetime / 2) return { ok: true, auth }
    try {
      const renewed = await deps.api.refresh(auth.server_url, auth.access_token)
      const next: AuthFile = { ...auth, access_token: renewed.access_token, expires_at: renewed.expires_at, paired_at: now().toISOString() }
      await writeJsonAtomic(deps.paths.authFile, next)
      deps.log.info({ expires_at: next.expires_at }, 'access token refreshed')
      return { ok: true, auth: next }
    } catch (error) {
      if (error instanceof ServerRejected && error.status === 401) return expired()
      // Unreachable or a passing failure: the current token still works until it expires.
      if (!(error instanceof ServerUnreachable)) deps.log.warn({ err: error }, 'token refresh failed')
      return { ok: true, auth }
    }
  }

  return { load, save, clear, fresh, expired }
}

export type Auth = ReturnType<typeof createAuth>
