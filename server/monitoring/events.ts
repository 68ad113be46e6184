import type { PendingQuery, Row, Sql } from 'postgres'
import { PROCESS_NAME } from '../db/connect.js'
import type { HeldSummary } from '../sms/format.js'
import type { AlertType } from '../sms/policy.js'

/** What became of an event. */
export type EventOutcome = 'pending' | 'sent' | 'rate_limited' | 'paused' | 'quiet_hours' | 'opted_out' | 'disabled' | 'below_threshold' | 'undeliverable' | 'send_failed'

/** Outcomes that leave an event "held": the user has not heard of it yet and the next text says so. */
export const HELD_OUTCOMES: EventOutcome[] = ['rate_limited', 'paused', 'quiet_hours', 'send_failed']

/**
 * `in (...)` of the held outcomes, written into the statement as literals rather than sent as
 * parameters: PostgreSQL can then prove the predicate of the partial index session_events_held in a
 * prepared statement's generic (cached) plan. With parameters it cannot, so it plans the statement
 * afresh on every execution (a generic plan would scan every event), which made the read of every
 * event cost more database CPU than its two commits.
 */
export function inHeldOutcomes(sql: Sql): PendingQuery<Row[]> {
  return sql.unsafe(`in (${HELD_OUTCOMES.map((o) => `'${o}'`).join(', ')})`)
}

/** The first answer to an event, replayed when the same event_id comes again. */
export interface StoredAnswer {
  status: number
  body: Record<string, unknown>
}

export interface StoredEvent {
  id: string
  outcome: EventOutcome
  answer: StoredAnswer | null
  receivedAt: Date
}

type EventRow = { id: string; outcome: EventOutcome; response_status: number | null; response_body: Record<string, unknown> | null; received_at: Date }
const toEvent = (r: EventRow): StoredEvent => ({
  id: r.id,
  outcome: r.outcome,
  answer: r.response_status === null ? null : { status: r.response_status, body: r.response_body ?? {} },
  receivedAt: r.received_at,
})

export async function findEvent(sql: Sql, sessionId: string, eventId: string): Promise<StoredEvent | undefined> {
  const [row] = await sql<EventRow[]>`
    select id, outcome, response_status, response_body, received_at from session_events where session_id = ${sessionId} and event_id = ${eventId}`
  return row ? toEvent(row) : undefined
}

/**
 * Takes over an event whose earlier handling produced no answer: the send failed for a reason worth
 * retrying, or its handler is gone. Gone means: this process handled it and is not any more
 * (`handledHere` false: the request failed mid-way, e.g. the database went away); or the process
 * that handled it has no connection to the database any more (it crashed), checked once the event
 * is a few seconds old; or, whatever the above says, it has been pending for `staleAfterMs`.
 * Compare-and-set, so of two retries arriving together only one handles it.
 */
export async function reclaimEvent(sql: Sql, id: string, now: Date, opts: { staleAfterMs: number; handledHere: boolean }): Promise<boolean> {
  const rows = await sql`
    update session_events set outcome = 'pending', received_at = ${now}, handler = ${PROCESS_NAME}
    where id = ${id} and response_status is null and summarised_at is null
      and (outcome = 'send_failed' or (outcome = 'pending' and (
        received_at < ${new Date(now.getTime() - opts.staleAfterMs)}
        or (handler = ${PROCESS_NAME} and ${!opts.handledHere})
        or (handler <> ${PROCESS_NAME} and received_at < ${new Date(now.getTime() - HANDLER_GRACE_MS)}
            and not exists (select 1 from pg_stat_activity a where a.application_name = session_events.handler)))))
    returning id`
  return rows.length === 1
}

// A handler's connections can be missing from pg_stat_activity behind a connection pooler; a few
// seconds (more than a send's deadline) keeps a live handler from being overtaken there.
const HANDLER_GRACE_MS = 5_000

/** Held events of a user not told about yet, of the given types (all types when omitted). */
export async function heldEvents(sql: Sql, userId: string, opts: { types?: AlertType[]; excludeId?: string } = {}): Promise<{ ids: string[]; summary: HeldSummary | null }> {
  const rows = await sql<{ id: string; event_type: AlertType; received_at: Date }[]>`
    select id, event_type, received_at from session_events
    where user_id = ${userId} and summarised_at is null and outcome ${inHeldOutcomes(sql)}
      ${opts.types ? sql`and event_type in ${sql(opts.types)}` : sql``}
      ${opts.excludeId ? sql`and id <> ${opts.excludeId}` : sql``}
    order by received_at`
  if (!rows.length) return { ids: [], summary: null }
  const counts: HeldSummary['counts'] = {}
  for (const r of rows) counts[r.event_type] = (counts[r.event_type] ?? 0) + 1
  return { ids: rows.map((r) => r.id), summary: { counts, since: rows[0]!.received_at } }
}

export async function markSummarised(sql: Sql, ids: string[], at: Date, smsId: string | null): Promise<void> {
  if (!ids.length) return
  await sql`update session_events set summarised_at = ${at}, summary_sms_id = ${smsId} where id in ${sql(ids)} and summarised_at is null`
}
