/**
 * How many pairing texts may be sent, against SMS pumping (attackers making us text premium or
 * foreign numbers they are paid for) and plain cost. Pure: the counting lives in send-log.ts.
 */
export interface PairingSendLimits {
  perNumberPerMinute: number
  perNumberPerHour: number
  perIpPerHour: number
  /** All numbers that are not paired yet together, over the last 24 hours (PAIRING_DAILY_CAP). */
  globalPerDay: number
  /**
   * All numbers already paired together, over the last 24 hours (PAIRED_SIGNIN_DAILY_CAP): a budget of
   * their own, so strangers spending globalPerDay on unknown numbers cannot lock existing users out.
   */
  pairedPerDay: number
}

export const DEFAULT_PAIRING_SEND_LIMITS: PairingSendLimits = {
  perNumberPerMinute: 1,
  perNumberPerHour: 5,
  perIpPerHour: 10,
  globalPerDay: 500,
  pairedPerDay: 500,
}

export type LimitScope = 'number' | 'ip' | 'global' | 'paired'

/** One sliding-window rule: at most `limit` sends per `windowMs` for one key of `scope`. */
export interface SendRule {
  scope: LimitScope
  windowMs: number
  limit: number
}

/** The rules for one send; `paired` says whether the number belongs to a user already. */
export function sendRules(limits: PairingSendLimits, paired = false): SendRule[] {
  return [
    { scope: 'number', windowMs: 60_000, limit: limits.perNumberPerMinute },
    { scope: 'number', windowMs: 3_600_000, limit: limits.perNumberPerHour },
    { scope: 'ip', windowMs: 3_600_000, limit: limits.perIpPerHour },
    paired ? { scope: 'paired', windowMs: 86_400_000, limit: limits.pairedPerDay } : { scope: 'global', windowMs: 86_400_000, limit: limits.globalPerDay },
  ]
}

export type SendDecision = { allowed: true } | { allowed: false; scope: LimitScope; retryAfterSeconds: number }

/**
 * For each rule, `limitthNewest` is the time of the limit-th most recent send inside its window (null
 * when there were fewer). A rule is full when that send exists, and frees up when it leaves the window.
 * The answer names the rule that stays full longest, so one Retry-After is enough.
 */
export function decideSend(rules: { rule: SendRule; limitthNewest: Date | null }[], now: Date): SendDecision {
  let worst: { scope: LimitScope; retryAfterSeconds: number } | undefined
  for (const { rule, limitthNewest } of rules) {
    if (rule.limit <= 0) return { allowed: false, scope: rule.scope, retryAfterSeconds: Math.ceil(rule.windowMs / 1000) }
    if (!limitthNewest) continue
    const freeAt = limitthNewest.getTime() + rule.windowMs
    if (freeAt <= now.getTime()) continue
    const retryAfterSeconds = Math.max(1, Math.ceil((freeAt - now.getTime()) / 1000))
    if (!worst || retryAfterSeconds > worst.retryAfterSeconds) worst = { scope: rule.scope, retryAfterSeconds }
  }
  return worst ? { allowed: false, ...worst } : { allowed: true }
}

/** What a person is told when a limit stops their code. */
export function limitMessage(scope: LimitScope | 'locked', retryAfterSeconds: number): string {
  const wait =
    retryAfterSeconds < 120 ? `${retryAfterSeconds} seconds` : retryAfterSeconds < 7_200 ? `${Math.ceil(retryAfterSeconds / 60)} minutes` : `${Math.ceil(retryAfterSeconds / 3_600)} hours`
  switch (scope) {
    case 'number':
      return `A code was sent to this number recently. Use that code, or ask for a new one in ${wait}.`
    case 'ip':
      return `Too many codes were requested from your network. Try again in ${wait}.`
    case 'global':
      return `This server has sent as many pairing codes as it allows per day. Try again in ${wait}.`
    case 'paired':
      return `This server has sent as many sign-in codes to its users as it allows per day. Try again in ${wait}.`
    case 'locked':
      return `Sign-in for this number is locked after too many wrong codes. Try again in ${wait}.`
  }
}
