import type { Sql } from 'postgres'
import type { ApprovalQuestion, ApprovalState, ApprovalStatus, DecidedBy } from '../../contract/approvals.js'
import { isUuid } from '../db/uuid.js'

/** One approval request as stored (migration 0013_approvals.sql). */
export interface ApprovalRow {
  id: string
  session_id: string
  user_id: string
  request_id: string
  kind: 'permission' | 'question'
  tool_name: string
  summary: string
  questions: ApprovalQuestion[] | null
  cwd: string | null
  asked_at: Date
  created_at: Date
  status: ApprovalStatus
  refused_reason: ApprovalState['refused_reason'] | null
  held_reason: string | null
  tag: string | null
  texted_to_hash: string | null
  texted_at: Date | null
  sms_id: string | null
  sms_sent: boolean
  decided_by: DecidedBy | null
  decided_at: Date | null
  terminal_decision: 'allowed' | 'denied' | 'unknown' | null
  evidence: string | null
  decision_message: string | null
  answers: Record<string, string> | null
  reply_text: string | null
}

export const OPEN: ApprovalStatus[] = ['queued', 'pending']
export const isOpen = (status: ApprovalStatus) => status === 'queued' || status === 'pending'

export function toState(r: ApprovalRow): ApprovalState {
  return {
    approval_id: r.id,
    request_id: r.request_id,
    tag: r.tag,
    status: r.status,
    sms_sent: r.sms_sent,
    decided_by: r.decided_by,
    decided_at: r.decided_at ? r.decided_at.toISOString() : null,
    message: r.decision_message,
    answers: r.answers,
    refused_reason: r.refused_reason,
  }
}

export async function findApproval(sql: Sql, sessionId: string, approvalId: string): Promise<ApprovalRow | undefined> {
  if (!isUuid(approvalId)) return undefined
  const [row] = await sql<ApprovalRow[]>`select * from approval_requests where id = ${approvalId} and session_id = ${sessionId}`
  return row
}

/**
 * Turns approvals on for a session started with `approvals: true`, unless the account's "never accept
 * approvals by text" switch is on: that switch wins. Returns whether they are on.
 */
export async function enableApprovals(sql: Sql, sessionId: string, userId: string): Promise<boolean> {
  const [row] = await sql<{ approvals_enabled: boolean }[]>`
    update monitoring_sessions
    set approvals_enabled = not coalesce((select approvals_disabled from user_settings where user_id = ${userId}), false)
    where id = ${sessionId}
    returning approvals_enabled`
  return row?.approvals_enabled ?? false
}

/** Whether approvals are refused for this session, and why. */
export async function approvalsRefusal(sql: Sql, sessionId: string, userId: string): Promise<'account_disabled' | 'session_disabled' | null> {
  const [row] = await sql<{ session_on: boolean; account_off: boolean }[]>`
    select s.approvals_enabled as session_on, coalesce(u.approvals_disabled, false) as account_off
    from monitoring_sessions s left join user_settings u on u.user_id = s.user_id
    where s.id = ${sessionId} and s.user_id = ${userId}`
  if (!row || row.account_off) return 'account_disabled'
  return row.session_on ? null : 'session_disabled'
}

export type PhoneRefusal = 'account_disabled' | 'session_disabled' | 'session_ended' | 'opted_out'

/**
 * Why a decision from the phone (a text reply, a keypress) may not settle this request now, or null
 * when it may. Asked at decision time, not only when the request was texted: the account's "never
 * accept approvals by text" switch, STOP (or a carrier's opt-out), and the session's end all win over
 * a reply that arrives after them.
 */
export async function phoneRefusal(sql: Sql, approvalId: string): Promise<PhoneRefusal | null> {
  const [row] = await sql<{ stopped: boolean; session_on: boolean; opted_out: boolean; account_off: boolean }[]>`
    select s.status = 'stopped' as stopped, s.approvals_enabled as session_on, u.opted_out_at is not null as opted_out,
           coalesce(us.approvals_disabled, false) as account_off
    from approval_requests a
    join monitoring_sessions s on s.id = a.session_id
    join users u on u.id = a.user_id
    left join user_settings us on us.user_id = a.user_id
    where a.id = ${approvalId}`
  if (!row) return 'session_ended'
  if (row.account_off) return 'account_disabled'
  if (row.opted_out) return 'opted_out'
  if (row.stopped) return 'session_ended'
  return row.session_on ? null : 'session_disabled'
}

/** First answer wins: only an open request is settled, and the row that did it is returned. */
export async function settleOpen(
  sql: Sql,
  approvalId: string,
  s: { status: ApprovalStatus; decidedBy: DecidedBy; decidedAt: Date; onlyPending?: boolean; textedToHash?: string; terminalDecision?: string; evidence?: string; message?: string; answers?: Record<string, string>; replyText?: string },
): Promise<ApprovalRow | undefined> {
  const statuses = s.onlyPending ? ['pending'] : OPEN
  const [row] = await sql<ApprovalRow[]>`
    update approval_requests
    set status = ${s.status}, decided_by = ${s.decidedBy}, decided_at = ${s.decidedAt},
        terminal_decision = ${s.terminalDecision ?? null}, evidence = ${s.evidence ?? null},
        decision_message = ${s.message ?? null}, answers = ${s.answers ? sql.json(s.answers) : null},
        reply_text = ${s.replyText ?? null}
    where id = ${approvalId} and status in ${sql(statuses)}
      ${s.textedToHash ? sql`and texted_to_hash = ${s.textedToHash}` : sql``}
      ${
        // A decision from the phone counts only while the phone may decide (phoneRefusal), checked in the
        // very statement that settles: a switch turned on a moment before the reply is honoured.
        s.decidedBy === 'phone'
          ? sql`and exists (
              select 1 from monitoring_sessions ms
              join users u on u.id = ms.user_id
              left join user_settings us on us.user_id = ms.user_id
              where ms.id = approval_requests.session_id and ms.user_id = approval_requests.user_id
                and ms.status <> 'stopped' and ms.approvals_enabled
                and u.opted_out_at is null and not coalesce(us.approvals_disabled, false))`
          : sql``
      }
    returning *`
  return row
}

/** A session ended or was stopped: its open requests are over. Returns the sessions that had some. */
export async function settleForSessionEnd(sql: Sql, sessionIds: string[], at: Date): Promise<{ session_id: string; user_id: string }[]> {
  if (!sessionIds.length) return []
  return sql<{ session_id: string; user_id: string }[]>`
    update approval_requests
    set status = 'settled_elsewhere', decided_by = 'session_end', decided_at = ${at}
    where session_id in ${sql(sessionIds)} and status in ('queued', 'pending')
    returning session_id, user_id`
}
