/**
 * Pure decisions about texting: no database, no clock of its own. The notifier loads the state,
 * asks here, and stores what happened.
 */
import { heldByQuietHours, type QuietHours } from './quiet-hours.js'

/** What a text can be about: the three event types of the API plus the sweeper's "went dark". */
export type AlertType = 'error' | 'done' | 'waiting' | 'went_dark'

/** 1 text per 30 minutes per user and alert type (DESIGN §5). */
export const RATE_LIMIT_WINDOW_MS = 30 * 60_000

export interface RecipientState {
  optedOutAt: Date | null
  pausedUntil: Date | null
  wentDarkAlerts: boolean
  /** Dashboard settings: texts held in this daily window, summarised when it ends. */
  quietHours?: QuietHours | null
  /** Dashboard settings: "done" only for turns at least this long (0: the plugin's own threshold decides). */
  doneThresholdMs?: number
}

export type Decision =
  | { text: true }
  /**
   * opted_out: STOP or Twilio 21610, nothing is sent until START; disabled: a setting turned this alert
   * off; below_threshold: a "done" for a turn shorter than the user's done threshold.
   */
  | { text: false; reason: 'opted_out' | 'disabled' | 'below_threshold' }
  /** paused / quiet_hours: held, and summarised when the pause or the quiet hours end. */
  | { text: false; reason: 'paused' | 'quiet_hours'; until: Date }

/** Whether an alert may become a text at all, before the rate limit is asked. */
export function decide(type: AlertType, recipient: RecipientState, now: Date, details: Record<string, unknown> = {}): Decision {
  if (recipient.optedOutAt) return { text: false, reason: 'opted_out' }
  if (type === 'went_dark' && !recipient.wentDarkAlerts) return { text: false, reason: 'disabled' }
  // Only a finished turn carries its length; a session that ends is always worth a text.
  const turnMs = details.turn_duration_ms
  if (type === 'done' && recipient.doneThresholdMs && typeof turnMs === 'number' && turnMs < recipient.doneThresholdMs) return { text: false, reason: 'below_threshold' }
  if (recipient.pausedUntil && recipient.pausedUntil.getTime() > now.getTime()) return { text: false, reason: 'paused', until: recipient.pausedUntil }
  const quietUntil = heldByQuietHours(recipient.quietHours ?? null, type, now)
  if (quietUntil) return { text: false, reason: 'quiet_hours', until: quietUntil }
  return { text: true }
}

/** The answer to a rate-limited event: when the next text of this type may go out. */
export function rateLimitedUntil(lastSentAt: Date, now: Date, windowMs = RATE_LIMIT_WINDOW_MS): { nextAllowedAt: Date; retryAfterSeconds: number } {
  const nextAllowedAt = new Date(lastSentAt.getTime() + windowMs)
  return { nextAllowedAt, retryAfterSeconds: Math.max(1, Math.ceil((nextAllowedAt.getTime() - now.getTime()) / 1000)) }
}

// Twilio error codes (twilio.com/docs/api/errors):
// 21610 "Attempt to send to unsubscribed recipient" (the number replied STOP);
// 30004 "Message blocked" (delivery receipt; the recipient blocked the sender or opted out at the carrier).
const OPT_OUT_CODES = new Set([21610, 30004])
// Numbers no retry will reach: invalid (21211), not reachable from this sender (21612), region not
// enabled (21408), not a mobile number (21614); receipts: unknown destination (30005), landline (30006).
const UNDELIVERABLE_CODES = new Set([21211, 21612, 21408, 21614, 30005, 30006])

export type FailureKind = 'opted_out' | 'undeliverable' | 'retry_later'

/** What a provider failure means for the user: stop texting them, give up on this text, or try again later. */
export function classifyFailure(code: number | undefined, permanent: boolean): FailureKind {
  if (code !== undefined && OPT_OUT_CODES.has(code)) return 'opted_out'
  if ((code !== undefined && UNDELIVERABLE_CODES.has(code)) || permanent) return 'undeliverable'
  return 'retry_later'
}
