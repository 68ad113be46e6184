import { setTimeout as delay } from 'node:timers/promises'
import type { Sql } from 'postgres'
import type { EventRequest } from '../../contract/api.js'
import type { Clock } from '../clock.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import { findEvent, heldEvents, markSummarised, reclaimEvent, recordEvent, settleEvent, type EventOutcome, type StoredAnswer } from '../monitoring/events.js'
import { claimTextSlot, lastTextAt, releaseTextSlot } from '../monitoring/rate-limit.js'
import type { MonitoringSession } from '../monitoring/sessions.js'
import { formatDigest, formatText, projectName, type Charset } from './format.js'
import { redactSecretsDeep } from './redact.js'
import { classifyFailure, decide, rateLimitedUntil, type AlertType } from './policy.js'
import type { SmsSender } from './sender.js'
import { claimExpiredPause, claimQuietDigest, holdForQuietHours, loadRecipient, markOptedOut } from './subscription.js'

export interface NotifierDeps {
  sql: Sql
  sms: SmsSender
  clock: Clock
  log: Logger
  charset: Charset
  /** One text per this window per user and alert type (default 30 minutes; SMS_RATE_LIMIT_MINUTES). */
  rateLimitWindowMs?: number
  /** How long a repeated event_id waits for the first request's answer before a 409 (default 8 s). */
  duplicateWaitMs?: number
}

/** What happened to one alert, before it is turned into an HTTP answer. */
export type Delivery =
  | { kind: 'sent'; smsId: string }
  | { kind: 'paused'; until: Date }
  | { kind: 'quiet_hours'; until: Date }
  | { kind: 'rate_limited'; nextAllowedAt: Date; retryAfterSeconds: number }
  | { kind: 'not_sent'; reason: 'opted_out' | 'disabled' | 'below_threshold' | 'undeliverable'; smsId?: string }
  | { kind: 'retry_later'; smsId: string; message: string }

export interface Notifier {
  /** POST /sessions/:id/events: store, decide, text, store the answer; repeats of an event_id get the first answer. */
  handleEvent(session: MonitoringSession, event: EventRequest): Promise<StoredAnswer>
  /** The sweeper found this session silent: one "went dark" text (a setting; rate limited as its own type). */
  notifyWentDark(session: MonitoringSession): Promise<Delivery>
  /** A pause (or quiet hours) ran out with nobody texting since: one text summarising what was held. */
  sendPauseDigest(userId: string, opts?: { quietHours?: boolean }): Promise<boolean>
}

// Events this process is handling right now (session_events ids): a retry must not take them over.
// Per process, not per notifier, because the database knows handlers by process (PROCESS_NAME).
const handling = new Set<string>()

// A pending event older than this is taken over by a retry whatever else is known about its handler.
const ABANDONED_AFTER_MS = 30_000

/** Load, decide (server/sms/policy.ts), send, store. */
export function createNotifier(deps: NotifierDeps): Notifier {
  const { sql, sms, clock, log } = deps
  const duplicateWaitMs = deps.duplicateWaitMs ?? 8_000
  // SMS_RATE_LIMIT_MINUTES=0 turns the limit off. Not a zero-width window: requests handled together
  // read the clock out of order, and a slot taken at t would refuse a request that read t - 1 ms.
  const rateLimitOff = deps.rateLimitWindowMs !== undefined && deps.rateLimitWindowMs <= 0

  async function deliver(session: MonitoringSession, type: AlertType, eventRowId: string, details: Record<string, unknown>, silentForMs?: number): Promise<Delivery> {
    const now = clock.now()
    const recipient = await loadRecipient(sql, session.userId)
    if (!recipient) return { kind: 'not_sent', reason: 'undeliverable' }
    const decision = decide(type, recipient, now, details)
    if (!decision.text) {
      if (decision.reason === 'paused') return { kind: 'paused', until: decision.until }
      if (decision.reason === 'quiet_hours') {
        await holdForQuietHours(sql, recipient.id, decision.until)
        return { kind: 'quiet_hours', until: decision.until }
      }
      return { kind: 'not_sent', reason: decision.reason }
    }

    const won = rateLimitOff ? now : await claimTextSlot(sql, recipient.id, type, now, deps.rateLimitWindowMs)
    if (!won) {
      const { nextAllowedAt, retryAfterSeconds } = rateLimitedUntil((await lastTextAt(sql, recipient.id, type)) ?? now, now, deps.rateLimitWindowMs)
      return { kind: 'rate_limited', nextAllowedAt, retryAfterSeconds }
    }
    // The first text after a pause or quiet hours ran out tells about everything held during them;
    // otherwise about the events of this type that the rate limit held back.
    const pauseOver = recipient.pausedUntil ? await claimExpiredPause(sql, recipient.id, now) : false
    const quietOver = recipient.quietDigestDueAt ? await claimQuietDigest(sql, recipient.id, now) : false
    const held = await heldEvents(sql, recipient.id, { types: pauseOver || quietOver ? undefined : [type], excludeId: eventRowId })
    const body = formatText({
      type,
      description: session.description,
      project: projectName(session.project, details.cwd),
      details,
      held: held.summary,
      silentForMs,
      charset: deps.charset,
      now,
    })
    const outcome = await sms.send({ userId: recipient.id, to: recipient.phoneE164, body, kind: type === 'went_dark' ? 'went_dark' : 'event' })
    if (outcome.sent) {
      await markSummarised(sql, held.ids, now, outcome.smsId)
      return { kind: 'sent', smsId: outcome.smsId }
    }
    if (!rateLimitOff) await releaseTextSlot(sql, recipient.id, type, won)
    const failure = classifyFailure(outcome.error.code, outcome.error.permanent)
    if (failure === 'opted_out') {
      await markOptedOut(sql, recipient.id, now)
      log.warn({ user_id: recipient.id, code: outcome.error.code }, 'the number has opted out at the provider: no more texts until START')
    }
    if (failure === 'retry_later') return { kind: 'retry_later', smsId: outcome.smsId, message: outcome.error.message }
    return { kind: 'not_sent', reason: failure, smsId: outcome.smsId }
  }

  return {
    async handleEvent(session, event) {
      const now = clock.now()
      // Secrets are never stored either: details are shown on the dashboard.
      const details = redactSecretsDeep(event.details)
      const stored = await recordEvent(sql, {
        sessionId: session.id,
        userId: session.userId,
        eventId: event.event_id,
        type: event.event_type,
        occurredAt: new Date(event.timestamp),
        receivedAt: now,
        details,
      })
      let rowId = stored?.id
      if (rowId) handling.add(rowId)
      else {
        const replay = await answerOfRepeat(session.id, event.event_id!)
        if ('answer' in replay) return replay.answer
        rowId = replay.reclaimed
      }

      try {
        const delivery = await deliver(session, event.event_type, rowId, details)
        const { outcome, answer } = answerFor(delivery)
        await settleEvent(sql, rowId, { outcome, smsId: 'smsId' in delivery ? delivery.smsId : null, answer })
        log.info({ monitoring_id: session.id, event_type: event.event_type, outcome }, 'event handled')
        if (!answer) {
          throw new ApiError(503, 'service_unavailable', 'The SMS provider did not take the text. Retry later with the same event_id.', { sms_id: 'smsId' in delivery ? delivery.smsId : null }, { 'Retry-After': '30' })
        }
        return answer
      } finally {
        handling.delete(rowId)
      }
    },

    async notifyWentDark(session) {
      const now = clock.now()
      const row = await recordEvent(sql, {
        sessionId: session.id,
        userId: session.userId,
        type: 'went_dark',
        occurredAt: now,
        receivedAt: now,
        details: { last_heartbeat_at: session.lastHeartbeatAt.toISOString() },
      })
      const delivery = await deliver(session, 'went_dark', row!.id, {}, now.getTime() - session.lastHeartbeatAt.getTime())
      const { outcome } = answerFor(delivery)
      await settleEvent(sql, row!.id, { outcome, smsId: 'smsId' in delivery ? delivery.smsId : null })
      log.info({ monitoring_id: session.id, outcome }, 'session went dark')
      return delivery
    },

    async sendPauseDigest(userId, opts = {}) {
      const now = clock.now()
      const recipient = await loadRecipient(sql, userId)
      if (!recipient || recipient.optedOutAt) return false
      const held = await heldEvents(sql, userId)
      if (!held.summary) return false
      const outcome = await sms.send({ userId, to: recipient.phoneE164, body: formatDigest(held.summary, deps.charset, now, { quietHours: opts.quietHours }), kind: 'digest' })
      if (!outcome.sent) {
        if (classifyFailure(outcome.error.code, outcome.error.permanent) === 'opted_out') await markOptedOut(sql, userId, now)
        return false
      }
      await markSummarised(sql, held.ids, now, outcome.smsId)
      return true
    },
  }

  /**
   * A repeated event_id: the first answer when there is one; the event itself when its first handling
   * ended without an answer worth keeping (a send to retry, or a process that died); otherwise wait
   * briefly for the request that is handling it right now.
   */
  async function answerOfRepeat(sessionId: string, eventId: string): Promise<{ answer: StoredAnswer } | { reclaimed: string }> {
    const waitUntil = Date.now() + duplicateWaitMs
    for (;;) {
      const existing = await findEvent(sql, sessionId, eventId)
      if (!existing) throw new Error('event vanished while answering a repeat')
      if (existing.answer) return { answer: existing.answer }
      if (await reclaimEvent(sql, existing.id, clock.now(), { staleAfterMs: ABANDONED_AFTER_MS, handledHere: handling.has(existing.id) })) {
        handling.add(existing.id)
        return { reclaimed: existing.id }
      }
      if (existing.outcome !== 'pending') {
        // It failed to send, and a later text has since told the user about it.
        return { answer: { status: 200, body: { sms_sent: false, rate_limited: false, next_allowed_at: null, sms_id: null, reason: 'summarised' } } }
      }
      if (Date.now() >= waitUntil) {
        throw new ApiError(409, 'conflict', 'This event_id is still being handled by another request. Retry in a few seconds.', {}, { 'Retry-After': '2' })
      }
      await delay(100)
    }
  }
}

function answerFor(delivery: Delivery): { outcome: EventOutcome; answer: StoredAnswer | null } {
  switch (delivery.kind) {
    case 'sent':
      return { outcome: 'sent', answer: { status: 200, body: { sms_sent: true, sms_id: delivery.smsId, rate_limited: false, next_allowed_at: null } } }
    case 'rate_limited':
      return {
        outcome: 'rate_limited',
        answer: {
          status: 429,
          body: {
            sms_sent: false,
            rate_limited: true,
            next_allowed_at: delivery.nextAllowedAt.toISOString(),
            retry_after: delivery.retryAfterSeconds,
            // Also the error shape of DESIGN §5, for clients that read every 429 as an error.
            error: 'rate_limited',
            message: 'One text per 30 minutes for this kind of event: this one is kept and counted in the next text.',
            details: {},
          },
        },
      }
    case 'paused':
    case 'quiet_hours':
      return {
        outcome: delivery.kind,
        answer: { status: 200, body: { sms_sent: false, rate_limited: false, next_allowed_at: delivery.until.toISOString(), sms_id: null, reason: delivery.kind } },
      }
    case 'not_sent':
      return { outcome: delivery.reason, answer: { status: 200, body: { sms_sent: false, rate_limited: false, next_allowed_at: null, sms_id: delivery.smsId ?? null, reason: delivery.reason } } }
    case 'retry_later':
      return { outcome: 'send_failed', answer: null }
  }
}
