/** Whether a call may be placed now: pure, from the person's state and settings and the clock. */
import { heldByQuietHours } from '../sms/quiet-hours.js'
import type { Recipient } from '../sms/subscription.js'

export type CallDecision =
  | { call: true }
  /** opted_out: STOP stops calls as well as texts; daily_cap: VOICE_DAILY_CAP calls in 24 hours already. */
  | { call: false; final: true; reason: 'opted_out' | 'daily_cap' }
  /** Held: asked again at the next sweep, and placed once the pause or the quiet hours are over. */
  | { call: false; final: false; reason: 'paused' | 'quiet_hours' }

export function decideCall(recipient: Pick<Recipient, 'optedOutAt' | 'pausedUntil' | 'quietHours'>, settings: { callsBreakQuietHours: boolean }, now: Date, callsToday: number, dailyCap: number): CallDecision {
  if (recipient.optedOutAt) return { call: false, final: true, reason: 'opted_out' }
  if (!settings.callsBreakQuietHours) {
    if (recipient.pausedUntil && recipient.pausedUntil.getTime() > now.getTime()) return { call: false, final: false, reason: 'paused' }
    // "Still text me when Claude is waiting" lets texts through quiet hours, not calls: a call is louder.
    if (heldByQuietHours(recipient.quietHours, 'call', now)) return { call: false, final: false, reason: 'quiet_hours' }
  }
  if (callsToday >= dailyCap) return { call: false, final: true, reason: 'daily_cap' }
  return { call: true }
}
