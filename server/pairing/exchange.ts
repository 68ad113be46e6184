import type { Sql } from 'postgres'
import { MAX_PAIRING_ATTEMPTS } from '../../contract/api.js'
import type { AccessTokens, IssuedToken } from '../auth/access-tokens.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import type { SmsSender } from '../sms/sender.js'
import { findOrCreateUser, type User } from '../users.js'
import { hashTempToken, pairingCodeMatches } from './codes.js'
import { consumePairingRequest, pairingRequestExists, takePairingAttempt } from './pairing-requests.js'
import { settleCodeCheck } from './wrong-codes.js'

export interface ExchangeDeps {
  sql: Sql
  clock: Clock
  log: Logger
  pepper: string
  tokens: AccessTokens
  /** Texts the person once when their sign-in gets locked. */
  sms: SmsSender
  /** Wrong codes per number per 24 hours before its sign-in is locked (WRONG_CODES_PER_DAY). */
  wrongCodesPerDay: number
}

const startAgain = 'Start pairing again with /sms-notifier:sms-setup to get a new code.'

/**
 * Trades a temp token and the code texted for it for an access token. Each call uses one of the temp
 * token's MAX_PAIRING_ATTEMPTS tries before the code is compared; the try that uses the last one, a
 * used code and an expired token all end the pairing (401 token_expired). Wrong codes also count
 * against the number's daily limit, which locks its sign-in (429). The user is created here, once the
 * number is proven, never at login.
 */
export async function exchangePairingCode(
  deps: ExchangeDeps,
  input: { tempToken: string; pairingCode: string; deviceFingerprint?: string },
): Promise<{ user: User; issued: IssuedToken }> {
  const tempTokenHash = hashTempToken(input.tempToken)
  const now = deps.clock.now()
  const attempt = await takePairingAttempt(deps.sql, tempTokenHash, now)
  if (!attempt) {
    if (await pairingRequestExists(deps.sql, tempTokenHash)) {
      throw new ApiError(401, 'token_expired', `This pairing has ended (the code expired, was already used, or was mistyped ${MAX_PAIRING_ATTEMPTS} times). ${startAgain}`)
    }
    throw new ApiError(401, 'unauthorized', `This temp token is not valid. ${startAgain}`)
  }

  const matches = pairingCodeMatches(input.pairingCode, attempt.codeHash, tempTokenHash, deps.pepper)
  const checked = await settleCodeCheck(deps, { phoneE164: attempt.phoneE164, matches, now })
  if (checked.outcome === 'locked') throw checked.error
  if (checked.outcome === 'wrong') {
    const remaining = MAX_PAIRING_ATTEMPTS - attempt.attempts
    deps.log.info({ to: attempt.phoneMasked, attempts_left: remaining }, 'wrong pairing code')
    if (remaining <= 0) throw new ApiError(401, 'token_expired', `That code is wrong too, and that was the last try. ${startAgain}`)
    throw new ApiError(400, 'invalid_pairing_code', `That code is not the one we texted to ${attempt.phoneMasked}. ${remaining} ${remaining === 1 ? 'try' : 'tries'} left.`, {
      attempts_remaining: remaining,
    })
  }

  if (!(await consumePairingRequest(deps.sql, attempt.id, now))) {
    throw new ApiError(401, 'token_expired', `This code has already been used. ${startAgain}`)
  }
  const user = await findOrCreateUser(deps.sql, attempt.phoneE164, deps.pepper)
  const issued = await deps.tokens.issue(user.id, { deviceFingerprint: input.deviceFingerprint })
  deps.log.info({ user_id: user.id, to: user.phoneMasked }, 'paired')
  return { user, issued }
}
