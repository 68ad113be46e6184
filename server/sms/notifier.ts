import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { PendingQuery, Row, Sql } from 'postgres'
import type { EventRequest } from '../../contract/api.js'
import { bearerToken } from '../auth/access-tokens.js'
import type { Clock } from '../clock.js'
import { PROCESS_NAME } from '../db/connect.js'
import { ApiError } from '../http/errors.js'
import type { Logger } from '../log.js'
import { findEvent, heldEvents, inHeldOutcomes, markSummarised, reclaimEvent, type EventOutcome, type StoredAnswer } from '../monitoring/events.js'
import { claimTextSlot, lastTextAt, releaseTextSlot } from '../monitoring/rate-limit.js'
import { authenticateSession } from '../monitoring/session-auth.js'
import { hashSessionToken, type MonitoringSession } from '../monitoring/sessions.js'
import type { SessionUpdates } from '../session-updates.js'
import { formatDigest, formatText, projectName, type Charset, type HeldSummary } from './format.js'
import { redactSecretsDeep } from './redact.js'
import { classifyFailure, decide, rateLimitedUntil, RATE_LIMIT_WINDOW_MS, type AlertType } from './policy.js'
import type { PreparedText, SmsSender } from './sender.js'
import { loadRecipient, markOptedOut, toRecipient, type Recipient, type RecipientRow } from './subscription.js'

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
  /** Where a handled event is published for the dashboard's live pages. */
  updates?: SessionUpdates
}

/** What happened to one alert, before it is turned into an HTTP answer. */
export type Delivery =
  | { kind: 'sent'; smsId: string }
  | { kind: 'paused'; until: Date }
  | { kind: 'quiet_hours'; until: Date }
  | { kind: 'rate_limited'; nextAllowedAt: Date; retryAfterSeconds: number }
  | { kind: 'not_sent'; reason: 'opted_out' | 'disabled' | 'below_threshold' | 'undeliverable'; smsId?: string }
  | { kind: 'retry_later'; smsId: string; message: string }

/** Who sends an event: the request's Authorization header and the monitoring id in its path. */
export interface EventCredentials {
  authorization: string | undefined
  monitoringId: unknown
}

export interface Notifier {
  /**
   * POST /sessions/:id/events: authenticate, mark the session alive, store, decide, text, store the
   * answer; repeats of an event_id get the first answer. Unknown or dead credentials: 401/404.
   * What became of the event (and its text) is added to `logFields` (the request's log line) when
   * given, else logged in a line of its own.
   */
  handleEvent(credentials: EventCredentials, event: EventRequest, logFields?: Record<string, unknown>): Promise<StoredAnswer>
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

/** A held event (rate limited, paused, quiet hours, send failed) of the user, not told about yet. */
interface HeldEvent {
  id: string
  type: AlertType
  at: Date
}

/** What deciding and texting an event needs to know, read in one statement. */
interface EventState {
  session: { id: string; userId: string; description: string; project: string | null }
  recipient: Recipient
  held: HeldEvent[]
}

/** Where the event's row comes from: inserted by the statement that commits before the send, or already stored. */
type EventRowSource =
  | { kind: 'new'; id: string; eventId: string | null; occurredAt: Date; details: Record<string, unknown>; beat?: { tokenHash: string; monitoringId: string; write: boolean } }
  | { kind: 'existing'; id: string }

type StateRow = RecipientRow & {
  session_id: string
  user_id: string
  description: string
  project: string | null
  held: { id: string; type: AlertType; at: string }[]
}

function toState(r: StateRow): EventState {
  return {
    session: { id: r.session_id, userId: r.user_id, description: r.description, project: r.project },
    recipient: toRecipient(r),
    held: r.held.map((h) => ({ id: h.id, type: h.type, at: new Date(h.at) })),
  }
}

function summarise(held: HeldEvent[]): HeldSummary | null {
  if (!held.length) return null
  const counts: HeldSummary['counts'] = {}
  for (const h of held) counts[h.type] = (counts[h.type] ?? 0) + 1
  return { counts, since: held.reduce((a, h) => (h.at < a ? h.at : a), held[0]!.at) }
}

/**
 * Load, decide (server/sms/policy.ts), send, store. A texted event costs three round trips and two
 * commits: one read (session by token, recipient, held events); one statement that marks the session
 * alive, stores the event, takes the rate-limit slot and records the text as "sending", committed
 * before the provider call, so that a crash never sends twice; and after the provider call one statement that records its answer, settles the event and
 * marks the held events told. A repeated event_id is found by that second statement's insert (ON
 * CONFLICT: nothing stored, no slot, no text) and answered with the first answer.
 */
export function createNotifier(deps: NotifierDeps): Notifier {
  const { sql, sms, clock, log } = deps
  const duplicateWaitMs = deps.duplicateWaitMs ?? 8_000
  const windowMs = deps.rateLimitWindowMs ?? RATE_LIMIT_WINDOW_MS
  // SMS_RATE_LIMIT_MINUTES=0 turns the limit off. Not a zero-width window: requests handled together
  // read the clock out of order, and a slot taken at t would refuse a request that read t - 1 ms.
  const rateLimitOff = windowMs <= 0

  const stateColumns = sql`
    u.id, u.phone_e164, u.opted_out_at, u.paused_until, st.went_dark_alerts, st.quiet_hours_enabled, st.quiet_start, st.quiet_end,
    st.time_zone, st.quiet_allow_waiting, st.quiet_digest_due_at, st.done_threshold_minutes,
    (select coalesce(json_agg(json_build_object('id', h.id, 'type', h.event_type, 'at', h.received_at)), '[]')
       from session_events h where h.user_id = u.id and h.summarised_at is null and h.outcome ${inHeldOutcomes(sql)}) as held`

  /** The state of the user of a session already authenticated (the sweeper's, or a retry taking an event over). */
  async function loadState(session: { id: string; userId: string; description: string; project: string | null }): Promise<EventState | undefined> {
    const [row] = await sql<StateRow[]>`
      select ${stateColumns}, ${session.id}::uuid as session_id, u.id as user_id, ${session.description}::text as description, ${session.project}::text as project
      from users u left join user_settings st on st.user_id = u.id where u.id = ${session.userId}`
    return row ? toState(row) : undefined
  }

  const published = (session: { id: string; userId: string }) => deps.updates?.publish({ userId: session.userId, monitoringId: session.id, kind: 'event' })

  /**
   * The CTEs `s` (the session: checked live, and marked alive when `beat.write`) and `e` (the event
   * row) that begin every write.
   */
  function sessionAndEvent(state: EventState, type: AlertType, now: Date, row: EventRowSource, settle: StoredSettlement | null): PendingQuery<Row[]> {
    const { session } = state
    const beat = row.kind === 'new' ? row.beat : undefined
    let s: PendingQuery<Row[]>
    if (!beat) s = sql`s as (select ${session.id}::uuid as id, ${session.userId}::uuid as user_id)`
    else if (!beat.write) {
      s = sql`s as (select id, user_id from monitoring_sessions where session_token_hash = ${beat.tokenHash} and id::text = ${beat.monitoringId} and status <> 'stopped')`
    } else {
      s = sql`s as (
        update monitoring_sessions set last_heartbeat_at = ${now}, status = 'active', stale_at = null
        where session_token_hash = ${beat.tokenHash} and id::text = ${beat.monitoringId} and status <> 'stopped'
        returning id, user_id)`
    }
    const outcome = settle?.outcome ?? 'pending'
    const status = settle?.answer?.status ?? null
    const body = settle?.answer ? sql.json(settle.answer.body as never) : null
    const e =
      row.kind === 'new'
        ? sql`e as (
            insert into session_events (id, session_id, user_id, event_id, event_type, occurred_at, received_at, details, handler, outcome, response_status, response_body)
            select ${row.id}::uuid, s.id, s.user_id, ${row.eventId}::text, ${type}::text, ${row.occurredAt}::timestamptz, ${now}::timestamptz,
                   ${sql.json(row.details as never)}::jsonb, ${PROCESS_NAME}::text, ${outcome}::text, ${status}::int, ${body}::jsonb
            from s
            on conflict (session_id, event_id) do nothing
            returning id)`
        : settle
          ? sql`e as (
              update session_events set outcome = ${outcome}, sms_id = null, response_status = ${status}::int, response_body = ${body}::jsonb
              where id = ${row.id} returning id)`
          : sql`e as (select ${row.id}::uuid as id)`
    return sql`${s}, ${e}`
  }

  interface StoredSettlement {
    outcome: EventOutcome
    answer: StoredAnswer | null
  }

  type Written = { beat: number; stored: number; won: Date | null; last: Date | null; digest: boolean }

  /**
   * Decides and, when the decision is a text, sends it. Refused when the event was not stored: the
   * session was stopped since the read (`unauthorized`), or another request stored the same event_id
   * meanwhile (`duplicate`).
   */
  async function deliver(
    state: EventState,
    type: AlertType,
    row: EventRowSource,
    details: Record<string, unknown>,
    silentForMs?: number,
    logFields?: Record<string, unknown>,
  ): Promise<{ delivery: Delivery } | { refused: 'unauthorized' | 'duplicate' }> {
    const now = clock.now()
    const { session, recipient } = state
    const refusal = (w: Written) => (w.beat === 0 ? ({ refused: 'unauthorized' } as const) : w.stored === 0 ? ({ refused: 'duplicate' } as const) : undefined)
    const decision = decide(type, recipient, now, details)

    if (!decision.text) {
      // Not a text: the event is stored with its outcome and answer in one statement.
      const delivery: Delivery =
        decision.reason === 'paused' || decision.reason === 'quiet_hours' ? { kind: decision.reason, until: decision.until } : { kind: 'not_sent', reason: decision.reason }
      const settle = answerFor(delivery)
      const [w] = await sql<Written[]>`
        with ${sessionAndEvent(state, type, now, row, settle)}
        ${
          delivery.kind === 'quiet_hours'
            ? sql`, hold as (
                insert into user_settings (user_id, quiet_digest_due_at) select ${recipient.id}::uuid, ${delivery.until}::timestamptz from e
                on conflict (user_id) do update set quiet_digest_due_at = excluded.quiet_digest_due_at)`
            : sql``
        }
        select (select count(*) from s)::int as beat, (select count(*) from e)::int as stored`
      const refused = refusal({ ...w!, won: null, last: null, digest: false })
      if (refused) return refused
      published(session)
      return { delivery }
    }

    // A text. Its summary of held events: those of this type the rate limit held back, or, for the
    // first text after a pause or quiet hours ran out (claimed below, once), everything held.
    const others = state.held.filter((h) => h.id !== row.id)
    const ofType = others.filter((h) => h.type === type)
    const digestDue = (recipient.pausedUntil && recipient.pausedUntil <= now) || (recipient.quietDigestDueAt && recipient.quietDigestDueAt <= now)
    const textFor = (held: HeldEvent[], id?: string): PreparedText => {
      const body = formatText({ type, description: session.description, project: projectName(session.project, details.cwd), details, held: summarise(held), silentForMs, charset: deps.charset, now })
      const text = sms.prepare({ userId: recipient.id, to: recipient.phoneE164, body, kind: type === 'went_dark' ? 'went_dark' : 'event' })
      return id ? { ...text, id } : text
    }
    const plain = textFor(ofType)
    const digest = digestDue ? textFor(others, plain.id) : undefined
    const plainRow = sms.insertRow(sql, plain)
    const digestRow = digest ? sms.insertRow(sql, digest) : undefined

    // Committed before the provider call: the event, the rate-limit slot (the single-statement limit,
    // taken only for an event stored by this very statement) and the text as "sending".
    const [w] = await sql<Written[]>`
      with ${sessionAndEvent(state, type, now, row, null)},
      ${
        rateLimitOff
          ? sql`slot as (select ${now}::timestamptz as last_sent_at from e)`
          : sql`slot as (${claimTextSlot(sql, { source: sql`e`, userId: recipient.id, type, now, windowMs })}),
            last as (${lastTextAt(sql, recipient.id, type)})`
      },
      ${
        digestRow
          ? sql`pause as (update users set paused_until = null where id = ${recipient.id} and paused_until <= ${now} and exists (select 1 from slot) returning id),
            quiet as (update user_settings set quiet_digest_due_at = null where user_id = ${recipient.id} and quiet_digest_due_at <= ${now} and exists (select 1 from slot) returning user_id),
            claimed as (select exists (select 1 from pause) or exists (select 1 from quiet) as yes),
            m as (insert into sms_messages (${plainRow.columns})
                  select ${digestRow.values} from slot, claimed where claimed.yes
                  union all select ${plainRow.values} from slot, claimed where not claimed.yes
                  returning id)`
          : sql`claimed as (select false as yes),
            m as (insert into sms_messages (${plainRow.columns}) select ${plainRow.values} from slot returning id)`
      }
      select (select count(*) from s)::int as beat, (select count(*) from e)::int as stored, (select last_sent_at from slot) as won,
             ${rateLimitOff ? sql`null::timestamptz` : sql`(select last_sent_at from last)`} as last, (select yes from claimed) as digest`
    const refused = refusal(w!)
    if (refused) return refused

    if (!w!.won) {
      // Rate limited. The slot's time as this statement saw it; when a concurrent request won it
      // meanwhile (the row seen is older than the window), that request's time is now.
      const last = w!.last && w!.last.getTime() + windowMs > now.getTime() ? w!.last : now
      const delivery: Delivery = { kind: 'rate_limited', ...rateLimitedUntil(last, now, windowMs) }
      await settleWith(session, row.id, delivery, sql``)
      return { delivery }
    }

    const text = w!.digest ? digest! : plain
    const told = w!.digest ? others : ofType
    const result = await sms.transmit(text, { logSent: !logFields })
    if (logFields && result.sent) Object.assign(logFields, { sms_id: text.id, to: text.toMasked, segments: text.segments, attempts: result.attempts })
    const outcome = sms.outcomeOf(text, result)
    let delivery: Delivery
    const extra: PendingQuery<Row[]>[] = [sql`m as (${sms.recordOutcome(sql, text, result)})`]
    if (outcome.sent) {
      delivery = { kind: 'sent', smsId: outcome.smsId }
      if (told.length) extra.push(sql`h as (update session_events set summarised_at = ${now}, summary_sms_id = ${text.id} where id in ${sql(told.map((h) => h.id))} and summarised_at is null)`)
    } else {
      if (!rateLimitOff) extra.push(sql`r as (${releaseTextSlot(sql, recipient.id, type, w!.won)})`)
      const failure = classifyFailure(outcome.error.code, outcome.error.permanent)
      if (failure === 'opted_out') {
        extra.push(sql`o as (update users set opted_out_at = ${now} where id = ${recipient.id} and opted_out_at is null)`)
        log.warn({ user_id: recipient.id, code: outcome.error.code }, 'the number has opted out at the provider: no more texts until START')
      }
      delivery = failure === 'retry_later' ? { kind: 'retry_later', smsId: outcome.smsId, message: outcome.error.message } : { kind: 'not_sent', reason: failure, smsId: outcome.smsId }
    }
    await settleWith(session, row.id, delivery, extra.reduce((a, f) => sql`${a} ${f},`, sql``))
    return { delivery }
  }

  /** The statement that settles an event: its outcome and answer, and what else `ctes` write; then the event is published. */
  async function settleWith(session: { id: string; userId: string }, rowId: string, delivery: Delivery, ctes: PendingQuery<Row[]>): Promise<void> {
    const { outcome, answer } = answerFor(delivery)
    const smsId = 'smsId' in delivery ? (delivery.smsId ?? null) : null
    await sql`
      with ${ctes}
      ev as (
        update session_events set outcome = ${outcome}, sms_id = ${smsId}, response_status = ${answer?.status ?? null},
          response_body = ${answer ? sql.json(answer.body as never) : null}
        where id = ${rowId} returning id)
      select count(*)::int as settled from ev`
    published(session)
  }

  return {
    async handleEvent(credentials, event, logFields) {
      const now = clock.now()
      // Secrets are never stored either: details are shown on the dashboard.
      const details = redactSecretsDeep(event.details)
      const token = bearerToken(credentials.authorization)
      const monitoringId = credentials.monitoringId
      const tokenHash = token ? hashSessionToken(token) : undefined
      const eventId = event.event_id ?? null

      // One read: the live session this token and id name, and its user's state. Whether the event_id
      // was seen before is left to the insert (ON CONFLICT on the unique (session_id, event_id)): a repeat
      // inserts nothing, so it takes no slot and writes no text, and is answered below. Looked up here
      // instead, PostgreSQL could cache a plan made while the table was small that reads the session's
      // events through the (session_id, received_at) index: every event of a long session would then
      // read all of that session's earlier events (seen in the benchmark, with auto_explain).
      const [found] =
        tokenHash && typeof monitoringId === 'string'
          ? await sql<(StateRow & { status: string; last_heartbeat_at: Date; heartbeat_interval_ms: number })[]>`
              select ${stateColumns}, s.id as session_id, s.user_id, s.description, s.project, s.status, s.last_heartbeat_at, s.heartbeat_interval_ms
              from monitoring_sessions s join users u on u.id = s.user_id left join user_settings st on st.user_id = s.user_id
              where s.session_token_hash = ${tokenHash} and s.id::text = ${monitoringId} and s.status <> 'stopped'`
          : []
      if (!found) return unauthorized(credentials)
      const state = toState(found)
      const { session } = state

      const id = randomUUID()
      handling.add(id)
      try {
        // An event proves the session alive as a heartbeat does (a repeat as much as the first request);
        // a heartbeat a tenth of an interval ago (3 s for the default 30 s) is as good, and spares the
        // session row a write.
        const write = found.status !== 'active' || now.getTime() - found.last_heartbeat_at.getTime() > found.heartbeat_interval_ms / 10
        const beat = { tokenHash: tokenHash!, monitoringId: monitoringId as string, write }
        const r = await deliver(state, event.event_type, { kind: 'new', id, eventId, occurredAt: new Date(event.timestamp), details, beat }, details, undefined, logFields)
        if ('delivery' in r) return answerOf(session, event.event_type, r.delivery, logFields)
        if (r.refused === 'unauthorized') return unauthorized(credentials)
      } finally {
        handling.delete(id)
      }

      // The same event_id again (or stored by a concurrent request a moment ago).
      const replay = await answerOfRepeat(session.id, eventId!)
      if ('answer' in replay) {
        published(session)
        return replay.answer
      }
      const rowId = replay.reclaimed
      try {
        const fresh = await loadState(session)
        if (!fresh) throw new Error('the user of a live session is gone')
        const r = await deliver(fresh, event.event_type, { kind: 'existing', id: rowId }, details, undefined, logFields)
        if (!('delivery' in r)) throw new Error('a reclaimed event could not be settled')
        return answerOf(session, event.event_type, r.delivery, logFields)
      } finally {
        handling.delete(rowId)
      }
    },

    async notifyWentDark(session) {
      const now = clock.now()
      const state = await loadState(session)
      if (!state) return { kind: 'not_sent', reason: 'undeliverable' }
      const details = { last_heartbeat_at: session.lastHeartbeatAt.toISOString() }
      const r = await deliver(state, 'went_dark', { kind: 'new', id: randomUUID(), eventId: null, occurredAt: now, details }, {}, now.getTime() - session.lastHeartbeatAt.getTime())
      if (!('delivery' in r)) throw new Error('a went-dark event could not be stored')
      log.info({ monitoring_id: session.id, outcome: answerFor(r.delivery).outcome }, 'session went dark')
      return r.delivery
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

  /** Says why the credentials are refused (401 or 404), as every session route does. */
  async function unauthorized(credentials: EventCredentials): Promise<never> {
    await authenticateSession(sql, credentials.authorization, credentials.monitoringId)
    // The session was live a moment ago and has just been stopped.
    throw new ApiError(401, 'unauthorized', 'Monitoring of this session has stopped. Start it again with /sms-notifier:sms-start.')
  }

  /** The HTTP answer of a delivery (503 for a send to retry, whose answer is not kept). */
  function answerOf(session: { id: string }, type: AlertType, delivery: Delivery, logFields?: Record<string, unknown>): StoredAnswer {
    const { outcome, answer } = answerFor(delivery)
    const fields = { monitoring_id: session.id, event_type: type, outcome }
    if (logFields) Object.assign(logFields, fields)
    else log.info(fields, 'event handled')
    if (!answer) {
      throw new ApiError(503, 'service_unavailable', 'The SMS provider did not take the text. Retry later with the same event_id.', { sms_id: 'smsId' in delivery ? delivery.smsId : null }, { 'Retry-After': '30' })
    }
    return answer
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
