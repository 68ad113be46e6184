import type { Sql } from 'postgres'
import { TEMP_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import { hashPhone, maskPhone } from '../phone.js'
import type { SmsSender } from '../sms/sender.js'
import type { SmsSendError } from '../sms/transport.js'
import { findUserByPhone } from '../users.js'
import { hashPairingCode, hashTempToken, newPairingCode, newTempToken, pairingCodeText } from './codes.js'
import { createPairingRequest, voidPairingRequest, type CodePurpose } from './pairing-requests.js'
import { checkPhoneNumber } from './phone-number.js'
import { limitMessage, type PairingSendLimits } from './send-limits.js'
import { hashIp, reservePairingSend } from './send-log.js'
import { signInLockedError, signInLockedUntil } from './wrong-codes.js'

export interface PairingDeps {
  sql: Sql
  sms: SmsSender
  clock: Clock
  log: Logger
  pepper: string
  allowedCountryCodes: string[]
  limits: PairingSendLimits
  /** Wrong codes per number per 24 hours before its sign-in is locked (WRONG_CODES_PER_DAY). */
  wrongCodesPerDay: number
}

export interface PairingStarted {
  tempToken: string
  phoneMasked: string
  expiresIn: number
}

/**
 * Sends a pairing code to the number a person typed and returns the temp token that, with the code,
 * buys an access token. Whether the number belongs to a user only chooses the daily budget the text
 * is counted on (paired numbers have their own), so the answer (and its timing) is the same for a
 * known and an unknown number while neither budget is spent. Failures are ApiErrors: 400 for a number
 * we will not or cannot text, 429 when a send limit is full or the number's sign-in is locked after
 * too many wrong codes, 503 when the provider is down.
 */
export async function startPairing(deps: PairingDeps, input: { phone: string; country?: string; ip: string; purpose?: CodePurpose }): Promise<PairingStarted> {
  const checked = checkPhoneNumber(input.phone, { allowedCountryCodes: deps.allowedCountryCodes, country: input.country })
  if (!checked.ok) throw new ApiError(400, 'invalid_request', checked.message, { field: 'phone', reason: checked.reason })
  const phone = checked.e164
  const phoneMasked = maskPhone(phone)
  const now = deps.clock.now()
  const phoneHash = hashPhone(phone, deps.pepper)

  const lockedUntil = await signInLockedUntil(deps.sql, phoneHash, now)
  if (lockedUntil) {
    deps.log.info({ to: phoneMasked }, 'code not sent: sign-in for this number is locked after too many wrong codes')
    throw signInLockedError(lockedUntil, now)
  }

  const decision = await reservePairingSend(deps.sql, {
    phoneHash,
    ipHash: hashIp(input.ip, deps.pepper),
    paired: (await findUserByPhone(deps.sql, phone, deps.pepper)) !== undefined,
    now,
    limits: deps.limits,
  })
  if (!decision.allowed) {
    deps.log.warn({ to: phoneMasked, limit: decision.scope, retry_after: decision.retryAfterSeconds }, 'pairing code not sent: send limit reached')
    throw new ApiError(429, 'rate_limited', limitMessage(decision.scope, decision.retryAfterSeconds), { retry_after: decision.retryAfterSeconds, limit: decision.scope }, {
      'Retry-After': String(decision.retryAfterSeconds),
    })
  }

  const tempToken = newTempToken()
  const tempTokenHash = hashTempToken(tempToken)
  const code = newPairingCode()
  const requestId = await createPairingRequest(deps.sql, {
    tempTokenHash,
    codeHash: hashPairingCode(code, tempTokenHash, deps.pepper),
    phoneE164: phone,
    phoneMasked,
    now,
    expiresAt: new Date(now.getTime() + TEMP_TOKEN_TTL_SECONDS * 1000),
    purpose: input.purpose,
  })

  const text = pairingCodeText(code, TEMP_TOKEN_TTL_SECONDS, input.purpose)
  const outcome = await deps.sms.send({ userId: null, to: phone, kind: 'pairing_code', body: text.body, storedBody: text.storedBody })
  if (!outcome.sent) {
    await voidPairingRequest(deps.sql, requestId, deps.clock.now())
    throw sendFailure(outcome.error, phoneMasked, deps.log)
  }
  deps.log.info({ to: phoneMasked, sms_id: outcome.smsId }, 'pairing code sent')
  return { tempToken, phoneMasked, expiresIn: TEMP_TOKEN_TTL_SECONDS }
}

// Twilio errors (twilio.com/docs/api/errors) that are about the number itself: asking again will not help.
const NUMBER_REFUSED: Record<number, string> = {
  21211: 'is not a valid phone number',
  21214: 'cannot be reached',
  21408: 'is in a country this server is not allowed to text',
  21612: 'cannot be reached from this server',
  21614: 'is not a mobile number',
  21635: 'is a landline',
}

function sendFailure(error: SmsSendError, phoneMasked: string, log: Logger): ApiError {
  if (error.code === 21610) {
    return new ApiError(400, 'invalid_request', `${phoneMasked} has replied STOP to this service, so it cannot be texted. Reply START to one of our texts, then try again.`, {
      field: 'phone',
      reason: 'opted_out',
      provider_code: error.code,
    })
  }
  const refused = error.code !== undefined ? NUMBER_REFUSED[error.code] : undefined
  if (error.permanent && refused) {
    return new ApiError(400, 'invalid_request', `${phoneMasked} cannot receive texts: the SMS provider says it ${refused}. Use a mobile number that can receive SMS.`, {
      field: 'phone',
      reason: 'cannot_receive_texts',
      provider_code: error.code,
    })
  }
  if (error.permanent) log.error({ code: error.code, http_status: error.httpStatus, err_message: error.message }, 'pairing code not sent: the SMS provider refused the request (check the Twilio settings)')
  return new ApiError(503, 'service_unavailable', 'The code could not be texted because the SMS provider is not answering. Try again in a minute.', { provider_code: error.code ?? null }, { 'Retry-After': '60' })
}
