import type { Sql } from 'postgres'
import type { Logger } from '../log.js'
import { ApiError } from '../http/errors.js'
import { hashPhone, maskPhone } from '../phone.js'
import type { SmsSender } from '../sms/sender.js'
import { limitMessage } from './send-limits.js'

/**
 * Wrong codes counted per number per 24 hours, whatever temp token they came with (a temp token
 * allows MAX_PAIRING_ATTEMPTS tries, but a guesser can ask for new tokens): after `limit` of them the
 * number's sign-in (pairing and dashboard codes alike) is locked for 24 hours, and the person is told
 * by one text. The lock is the same for a number that belongs to a user and one that does not.
 */

export const SIGN_IN_LOCK_MS = 86_400_000
const WINDOW_MS = 86_400_000

// Two-key advisory lock (this constant, then the number's hash): the checks of one number run one at
// a time, so parallel guesses cannot all slip under the limit before the lock is written.
const WRONG_CODES_LOCK = 724508

export type CodeCheck =
  | { outcome: 'right' }
  | { outcome: 'wrong' }
  /** This wrong code reached the limit: the number is locked from now on, and must be told. */
  | { outcome: 'locked_now'; lockedUntil: Date }
  /** The number was locked already; the code was not looked at. */
  | { outcome: 'locked'; lockedUntil: Date }

/** Until when the number's sign-in is locked, if it is. */
export async function signInLockedUntil(sql: Sql, phoneHash: string, now: Date): Promise<Date | undefined> {
  const [row] = await sql<{ locked_until: Date }[]>`select locked_until from sign_in_locks where phone_hash = ${phoneHash} and locked_until > ${now}`
  return row?.locked_until
}

/**
 * Settles one code check of the number `phoneHash` under its daily limit: a locked number's check
 * fails whatever the code; a wrong code is recorded, and the one that reaches `limit` locks the number.
 */
export async function checkCodeUnderDailyLimit(sql: Sql, args: { phoneHash: string; matches: boolean; now: Date; limit: number }): Promise<CodeCheck> {
  const { phoneHash, now } = args
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${WRONG_CODES_LOCK}, hashtext(${phoneHash}))`
    const locked = await signInLockedUntil(tx as unknown as Sql, phoneHash, now)
    if (locked) return { outcome: 'locked', lockedUntil: locked }
    if (args.matches) return { outcome: 'right' }

    const windowStart = new Date(now.getTime() - WINDOW_MS)
    await tx`delete from wrong_codes where failed_at <= ${windowStart}`
    await tx`insert into wrong_codes (phone_hash, failed_at) values (${phoneHash}, ${now})`
    const [{ count } = { count: 0 }] = await tx<{ count: number }[]>`
      select count(*)::int as count from wrong_codes where phone_hash = ${phoneHash} and failed_at > ${windowStart}`
    if (count < args.limit) return { outcome: 'wrong' }

    const lockedUntil = new Date(now.getTime() + SIGN_IN_LOCK_MS)
    await tx`
      insert into sign_in_locks (phone_hash, locked_at, locked_until) values (${phoneHash}, ${now}, ${lockedUntil})
      on conflict (phone_hash) do update set locked_at = excluded.locked_at, locked_until = excluded.locked_until`
    // The wrong codes that led to this lock are spent: after it, the number starts again from zero.
    await tx`delete from wrong_codes where phone_hash = ${phoneHash}`
    await tx`delete from sign_in_locks where locked_until < ${windowStart}`
    return { outcome: 'locked_now', lockedUntil }
  }) as Promise<CodeCheck>
}

/** The one text that tells the person their sign-in is locked (sent when the lock starts, never per wrong code). */
export function signInLockedText(hours: number): string {
  return `claude-sms-notifier: sign-in for this number is locked for ${hours} hours because too many wrong codes were entered. If that was not you, someone may be trying to sign in as you; nothing else changes.`
}

export async function tellSignInLocked(deps: { sms: SmsSender; log: Logger }, phoneE164: string): Promise<void> {
  const outcome = await deps.sms.send({ userId: null, to: phoneE164, kind: 'sign_in_locked', body: signInLockedText(SIGN_IN_LOCK_MS / 3_600_000) })
  deps.log.warn({ to: maskPhone(phoneE164), sms_sent: outcome.sent }, 'sign-in locked for 24 hours after too many wrong codes')
}

/** The answer for a code check or a code request while the number is locked: 429, the same for every number. */
export function signInLockedError(lockedUntil: Date, now: Date): ApiError {
  const retryAfter = Math.max(1, Math.ceil((lockedUntil.getTime() - now.getTime()) / 1000))
  return new ApiError(429, 'rate_limited', limitMessage('locked', retryAfter), { retry_after: retryAfter, limit: 'locked' }, { 'Retry-After': String(retryAfter) })
}

/**
 * One code check of a number under its daily limit, with its effects: the text when this check locks
 * the number. Locked (now or before): the 429 to answer, whatever the code was.
 */
export async function settleCodeCheck(
  deps: { sql: Sql; sms: SmsSender; log: Logger; pepper: string; wrongCodesPerDay: number },
  input: { phoneE164: string; matches: boolean; now: Date },
): Promise<{ outcome: 'right' } | { outcome: 'wrong' } | { outcome: 'locked'; error: ApiError }> {
  const checked = await checkCodeUnderDailyLimit(deps.sql, { phoneHash: hashPhone(input.phoneE164, deps.pepper), matches: input.matches, now: input.now, limit: deps.wrongCodesPerDay })
  if (checked.outcome === 'right' || checked.outcome === 'wrong') return checked
  if (checked.outcome === 'locked_now') await tellSignInLocked(deps, input.phoneE164)
  return { outcome: 'locked', error: signInLockedError(checked.lockedUntil, input.now) }
}
