import type { Sql } from 'postgres'
import { sessionStatus, type SessionStatus } from './session-status.js'
import { isUuid } from '../db/uuid.js'

/** One row of the sessions page. */
export interface SessionListItem {
  id: string
  description: string
  project: string | null
  hostname: string | null
  status: SessionStatus
  startedAt: Date
  /** Null until the first heartbeat (or event) after the start: the start itself is not one. */
  lastHeartbeatAt: Date | null
  endedAt: Date | null
  textsSent: number
  events: number
}

type ListRow = {
  id: string
  description: string
  project: string | null
  hostname: string | null
  status: string
  started_at: Date
  last_heartbeat_at: Date
  created_at: Date
  last_activity_at: Date | null
  stopped_at: Date | null
  last_event_type: string | null
  last_event_at: Date | null
  texts_sent: number
  events: number
}

// Starting a session sets last_heartbeat_at to the start (server/monitoring/sessions.ts startSession), so
// a session whose last heartbeat is still its creation time has never sent one.
const heartbeatSeen = (r: { last_heartbeat_at: Date; created_at: Date }): Date | null =>
  r.last_heartbeat_at.getTime() > r.created_at.getTime() ? r.last_heartbeat_at : null

// A text counts as sent once the provider took it (or the console transport logged it).
const TEXT_WENT_OUT = `m.status not in ('failed', 'sending')`

/** The user's monitoring sessions, newest first. */
export async function listSessions(sql: Sql, userId: string, limit = 200): Promise<SessionListItem[]> {
  const rows = await sql<ListRow[]>`
    select s.id, s.description, s.project, s.hostname, s.status, s.started_at, s.last_heartbeat_at, s.created_at, s.last_activity_at, s.stopped_at,
           last.event_type as last_event_type, last.occurred_at as last_event_at,
           coalesce(counts.texts_sent, 0)::int as texts_sent, coalesce(counts.events, 0)::int as events
    from monitoring_sessions s
    left join lateral (
      select e.event_type, e.occurred_at from session_events e
      where e.session_id = s.id and e.event_type <> 'went_dark'
      order by e.occurred_at desc limit 1) last on true
    left join lateral (
      select count(*) as events,
             count(*) filter (where m.id is not null and ${sql.unsafe(TEXT_WENT_OUT)}) as texts_sent
      from session_events e left join sms_messages m on m.id = e.sms_id
      where e.session_id = s.id) counts on true
    where s.user_id = ${userId}
    order by s.started_at desc
    limit ${limit}`
  return rows.map((r) => ({
    id: r.id,
    description: r.description,
    project: r.project,
    hostname: r.hostname,
    status: sessionStatus({ status: r.status, lastEventType: r.last_event_type, lastEventAt: r.last_event_at, lastActivityAt: r.last_activity_at }),
    startedAt: r.started_at,
    lastHeartbeatAt: heartbeatSeen(r),
    endedAt: r.stopped_at,
    textsSent: r.texts_sent,
    events: r.events,
  }))
}

/** A text as the timeline shows it. */
export interface TimelineText {
  id: string
  kind: string
  status: string
  errorCode: number | null
  errorMessage: string | null
  segments: number
  sentAt: Date
  body: string
}

export interface TimelineEvent {
  id: string
  type: string
  occurredAt: Date
  receivedAt: Date
  outcome: string
  details: Record<string, unknown>
  text: TimelineText | null
  /** A held event the user was later told about, in this text. */
  summarisedAt: Date | null
  summaryText: TimelineText | null
}

export interface SessionDetail extends SessionListItem {
  claudeSessionId: string
  staleAt: Date | null
  stopReason: string | null
  timeline: TimelineEvent[]
  /** Approval requests (answering from the phone), oldest first. */
  approvals: TimelineApproval[]
}

/** An approval request as the timeline shows it: asked, texted, settled by whom and when. */
export interface TimelineApproval {
  id: string
  kind: 'permission' | 'question'
  toolName: string
  summary: string
  askedAt: Date
  status: string
  refusedReason: string | null
  heldReason: string | null
  tag: string | null
  textedAt: Date | null
  text: TimelineText | null
  decidedBy: string | null
  decidedAt: Date | null
  terminalDecision: string | null
  message: string | null
  answers: Record<string, string> | null
  /** Decided by a keypress during a call (server/voice/keypress.ts), not by a text reply. */
  byCall: boolean
}

type TextColumns = { id: string; kind: string; status: string; error_code: number | null; error_message: string | null; segments: number; created_at: Date; body: string }
const toText = (t: TextColumns | null): TimelineText | null =>
  t ? { id: t.id, kind: t.kind, status: t.status, errorCode: t.error_code, errorMessage: t.error_message, segments: t.segments, sentAt: new Date(t.created_at), body: t.body } : null

/** The text joined from sms_messages as `alias`, as toText reads it; null when the join found none. */
function textJson(sql: Sql, alias: string) {
  const t = sql(alias)
  return sql`case when ${t}.id is null then null else json_build_object('id', ${t}.id, 'kind', ${t}.kind, 'status', ${t}.status, 'error_code', ${t}.error_code,
    'error_message', ${t}.error_message, 'segments', ${t}.segments, 'created_at', ${t}.created_at, 'body', ${t}.body) end`
}

/** One session of this user with its events, oldest first; undefined when it is not theirs. */
export async function findSessionDetail(sql: Sql, userId: string, monitoringId: string): Promise<SessionDetail | undefined> {
  if (!isUuid(monitoringId)) return undefined
  const [session] = await sql<(ListRow & { claude_session_id: string; stale_at: Date | null; stop_reason: string | null })[]>`
    select s.*, null::text as last_event_type, null::timestamptz as last_event_at, 0 as texts_sent, 0 as events
    from monitoring_sessions s where s.id = ${monitoringId} and s.user_id = ${userId}`
  if (!session) return undefined
  const events = await sql<
    { id: string; event_type: string; occurred_at: Date; received_at: Date; outcome: string; details: Record<string, unknown>; summarised_at: Date | null; text: TextColumns | null; summary: TextColumns | null }[]
  >`
    select e.id, e.event_type, e.occurred_at, e.received_at, e.outcome, e.details, e.summarised_at,
           ${textJson(sql, 'm')} as text,
           ${textJson(sql, 'd')} as summary
    from session_events e
    left join sms_messages m on m.id = e.sms_id
    left join sms_messages d on d.id = e.summary_sms_id
    where e.session_id = ${monitoringId}
    order by e.occurred_at, e.received_at`
  const timeline: TimelineEvent[] = events.map((e) => ({
    id: e.id,
    type: e.event_type,
    occurredAt: e.occurred_at,
    receivedAt: e.received_at,
    outcome: e.outcome,
    details: e.details ?? {},
    text: toText(e.text),
    summarisedAt: e.summarised_at,
    summaryText: toText(e.summary),
  }))
  const approvalRows = await sql<
    { id: string; kind: 'permission' | 'question'; tool_name: string; summary: string; asked_at: Date; status: string; refused_reason: string | null; held_reason: string | null; tag: string | null;
      texted_at: Date | null; decided_by: string | null; decided_at: Date | null; terminal_decision: string | null; decision_message: string | null; answers: Record<string, string> | null; by_call: boolean; text: TextColumns | null }[]
  >`
    select a.id, a.kind, a.tool_name, a.summary, a.asked_at, a.status, a.refused_reason, a.held_reason, a.tag, a.texted_at, a.decided_by, a.decided_at,
           a.terminal_decision, a.decision_message, a.answers,
           -- The reply a keypress settles with (server/voice/keypress.ts): "keypress 1 on a phone call".
           coalesce(a.decided_by = 'phone' and a.reply_text like 'keypress % on a phone call', false) as by_call,
           ${textJson(sql, 'm')} as text
    from approval_requests a left join sms_messages m on m.id = a.sms_id
    where a.session_id = ${monitoringId}
    order by a.asked_at, a.created_at`
  const approvals: TimelineApproval[] = approvalRows.map((a) => ({
    id: a.id,
    kind: a.kind,
    toolName: a.tool_name,
    summary: a.summary,
    askedAt: a.asked_at,
    status: a.status,
    refusedReason: a.refused_reason,
    heldReason: a.held_reason,
    tag: a.tag,
    textedAt: a.texted_at,
    text: toText(a.text),
    decidedBy: a.decided_by,
    decidedAt: a.decided_at,
    terminalDecision: a.terminal_decision,
    message: a.decision_message,
    answers: a.answers,
    byCall: a.by_call,
  }))
  const last = [...timeline].reverse().find((e) => e.type !== 'went_dark')
  const textsSent = [...timeline, ...approvals].filter((e) => e.text && !['failed', 'sending'].includes(e.text.status)).length
  return {
    id: session.id,
    claudeSessionId: session.claude_session_id,
    description: session.description,
    project: session.project,
    hostname: session.hostname,
    status: sessionStatus({ status: session.status, lastEventType: last?.type ?? null, lastEventAt: last?.occurredAt ?? null, lastActivityAt: session.last_activity_at }),
    startedAt: session.started_at,
    lastHeartbeatAt: heartbeatSeen(session),
    endedAt: session.stopped_at,
    staleAt: session.stale_at,
    stopReason: session.stop_reason,
    textsSent,
    events: timeline.length,
    timeline,
    approvals,
  }
}
