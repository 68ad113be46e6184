import type { Sql } from 'postgres'
import { MAX_PAIRING_ATTEMPTS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import { hashTempToken, pairingCodeMatches } from '../pairing/codes.js'
import { consumePairingRequest, takePairingAttempt } from '../pairing/pairing-requests.js'
import { settleCodeCheck } from '../pairing/wrong-codes.js'
import type { SmsSender } from '../sms/sender.js'
import { findOrCreateUser, type User } from '../users.js'

export type DashboardCodeCheck =
  | { ok: true; user: User }
  | { ok: false; reason: 'wrong_code'; attemptsLeft: number; phoneMasked: string }
  /** Expired, used, mistyped too often, or never issued: start again with a new code. */
  | { ok: false; reason: 'ended' }
  /** Too many wrong codes for this number today (pairing and dashboard codes together). */
  | { ok: false; reason: 'locked'; message: string; retryAfterSeconds: number }

/**
 * The dashboard's sign-in code, checked with the pairing machinery (server/pairing/): the same hashed
 * codes bound to a temp token, the same MAX_PAIRING_ATTEMPTS tries taken atomically before comparing,
 * the same single use. Only requests made for the dashboard (purpose 'dashboard') qualify, so a pairing
 * code never opens the dashboard and a sign-in code never pairs a plugin.
 */
export async function checkDashboardCode(
  deps: { sql: Sql; clock: Clock; log: Logger; pepper: string; sms: SmsSender; wrongCodesPerDay: number },
  input: { tempToken: string; code: string },
): Promise<DashboardCodeCheck> {
  const tempTokenHash = hashTempToken(input.tempToken)
  const now = deps.clock.now()
  const attempt = await takePairingAttempt(deps.sql, tempTokenHash, now, 'dashboard')
  if (!attempt) return { ok: false, reason: 'ended' }
  const matches = pairingCodeMatches(input.code, attempt.codeHash, tempTokenHash, deps.pepper)
  const checked = await settleCodeCheck(deps, { phoneE164: attempt.phoneE164, matches, now })
  if (checked.outcome === 'locked') return { ok: false, reason: 'locked', message: checked.error.message, retryAfterSeconds: Number(checked.error.details.retry_after) }
  if (checked.outcome === 'wrong') {
    const attemptsLeft = MAX_PAIRING_ATTEMPTS - attempt.attempts
    deps.log.info({ to: attempt.phoneMasked, attempts_left: attemptsLeft }, 'wrong dashboard sign-in code')
    return attemptsLeft > 0 ? { ok: false, reason: 'wrong_code', attemptsLeft, phoneMasked: attempt.phoneMasked } : { ok: false, reason: 'ended' }
  }
  if (!(await consumePairingRequest(deps.sql, attempt.id, now))) return { ok: false, reason: 'ended' }
  const user = await findOrCreateUser(deps.sql, attempt.phoneE164, deps.pepper)
  deps.log.info({ user_id: user.id, to: user.phoneMasked }, 'signed in to the dashboard')
  return { ok: true, user }
}

/** The masked number a still-usable dashboard code was sent to, for the code page. */
export async function pendingDashboardCode(sql: Sql, tempToken: string, now: Date): Promise<{ phoneMasked: string } | undefined> {
  const [row] = await sql<{ phone_masked: string }[]>`
    select phone_masked from pairing_requests
    where temp_token_hash = ${hashTempToken(tempToken)} and purpose = 'dashboard'
      and consumed_at is null and voided_at is null and expires_at > ${now} and attempts < ${MAX_PAIRING_ATTEMPTS}`
  return row ? { phoneMasked: row.phone_masked } : undefined
}
