import type { Sql } from 'postgres'
import type { ApprovalRequest, ApprovalState, SettleRequest } from '../../contract/approvals.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import type { MonitoringSession } from '../monitoring/sessions.js'
import { hashPhone } from '../phone.js'
import type { SessionUpdates } from '../session-updates.js'
import { projectName, type Charset } from '../sms/format.js'
import { classifyFailure, decide } from '../sms/policy.js'
import { redactSecrets } from '../sms/redact.js'
import type { SmsSender } from '../sms/sender.js'
import { loadRecipient, markOptedOut } from '../sms/subscription.js'
import { formatRequestText } from './format.js'
import { isUsableTag } from './reply-grammar.js'
import { approvalsRefusal, findApproval, isOpen, settleForSessionEnd, settleOpen, toState, type ApprovalRow } from './store.js'
import { newTag } from './tags.js'

export interface ApprovalsDeps {
  sql: Sql
  sms: SmsSender
  clock: Clock
  log: Logger
  charset: Charset
  pepper: string
  /** Request texts per user per rolling 24 hours (APPROVAL_DAILY_CAP). */
  dailyCap: number
  updates?: SessionUpdates
}

const DAY_MS = 86_400_000

/**
 * Approval requests: stored, texted one at a time per session, settled once by whoever answers first
 * (the phone, the terminal, the hook's timeout, the session's end). Every change is published on
 * `updates` (kind "approval"): the dashboard's pages and the long polls of every server process hear it.
 */
export function createApprovals(deps: ApprovalsDeps) {
  const { sql, clock, log } = deps
  const publish = (userId: string, sessionId: string) => deps.updates?.publish({ userId, monitoringId: sessionId, kind: 'approval' })

  /** Claims the session's next queued request for texting, or refuses it; one user at a time (advisory lock). */
  async function claimNext(sessionId: string, userId: string) {
    const now = clock.now()
    return sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(${`approvals:${userId}`}, 0))`
      const [pending] = await tx`select 1 from approval_requests where session_id = ${sessionId} and status = 'pending' limit 1`
      if (pending) return undefined
      const [head] = await tx<ApprovalRow[]>`
        select * from approval_requests where session_id = ${sessionId} and status = 'queued' order by created_at, id limit 1`
      if (!head) return undefined
      const recipient = await loadRecipient(tx as unknown as Sql, userId)
      if (!recipient) return undefined
      // Approval texts follow the policy of "waiting" texts: held while paused or in quiet hours.
      const decision = decide('waiting', recipient, now)
      if (!decision.text) {
        if (decision.reason === 'paused' || decision.reason === 'quiet_hours') {
          await tx`update approval_requests set held_reason = ${decision.reason} where id = ${head.id}`
          return undefined
        }
        await tx`update approval_requests set status = 'refused', refused_reason = 'opted_out' where id = ${head.id}`
        return { refused: head }
      }
      const [{ n } = { n: 0 }] = await tx<{ n: number }[]>`
        select count(*)::int as n from approval_requests where user_id = ${userId} and texted_at > ${new Date(now.getTime() - DAY_MS)}`
      if (n >= deps.dailyCap) {
        await tx`update approval_requests set status = 'refused', refused_reason = 'daily_cap' where id = ${head.id}`
        log.warn({ user_id: userId, cap: deps.dailyCap }, 'approval request not texted: daily cap reached')
        return { refused: head }
      }
      const used = new Set((await tx<{ tag: string }[]>`select tag from approval_requests where user_id = ${userId} and tag is not null`).map((r) => r.tag))
      let tag = newTag()
      for (let i = 0; i < 100 && (used.has(tag) || !isUsableTag(tag)); i++) tag = newTag()
      const [row] = await tx<ApprovalRow[]>`
        update approval_requests
        set status = 'pending', tag = ${tag}, texted_to_hash = ${hashPhone(recipient.phoneE164, deps.pepper)}, texted_at = ${now}, held_reason = null
        where id = ${head.id}
        returning *`
      return { texting: row!, to: recipient.phoneE164 }
    })
  }

  /** Texts the session's next request when nothing of it is pending; refusals move on to the one after. */
  async function advance(sessionId: string, userId: string): Promise<void> {
    for (let guard = 0; guard < 50; guard++) {
      const claim = await claimNext(sessionId, userId)
      if (!claim) return
      if ('refused' in claim) {
        publish(userId, sessionId)
        continue
      }
      const row = claim.texting
      const [session] = await sql<{ project: string | null }[]>`select project from monitoring_sessions where id = ${sessionId}`
      const body = formatRequestText({
        kind: row.kind,
        tool: row.tool_name,
        summary: row.summary,
        questions: row.questions ?? undefined,
        project: projectName(session?.project, row.cwd),
        tag: row.tag!,
        charset: deps.charset,
      })
      const outcome = await deps.sms.send({ userId, to: claim.to, body, kind: 'approval' })
      await sql`update approval_requests set sms_id = ${outcome.smsId}, sms_sent = ${outcome.sent} where id = ${row.id}`
      publish(userId, sessionId)
      if (outcome.sent) return
      if (classifyFailure(outcome.error.code, outcome.error.permanent) === 'opted_out') {
        await markOptedOut(sql, userId, clock.now())
        await sql`update approval_requests set status = 'refused', refused_reason = 'opted_out' where id = ${row.id} and status = 'pending'`
        continue
      }
      // Not sent: the request stays pending and the terminal still answers it; the next waits for that.
      log.warn({ approval_id: row.id, code: outcome.error.code }, 'approval request text not sent')
      return
    }
  }

  return {
    advance,

    /** POST /sessions/:id/approvals: idempotent on request_id. */
    async create(session: MonitoringSession, request: ApprovalRequest): Promise<ApprovalState> {
      const now = clock.now()
      const refused = await approvalsRefusal(sql, session.id, session.userId)
      const questions = request.kind === 'question' ? (request.questions ?? []) : null
      const [inserted] = await sql<ApprovalRow[]>`
        insert into approval_requests (session_id, user_id, request_id, kind, tool_name, summary, questions, cwd, asked_at, created_at, status, refused_reason)
        values (${session.id}, ${session.userId}, ${request.request_id}, ${request.kind}, ${request.tool_name}, ${redactSecrets(request.summary)},
                ${questions ? sql.json(questions) : null}, ${request.cwd ?? null}, ${new Date(request.asked_at)}, ${now},
                ${refused ? 'refused' : 'queued'}, ${refused})
        on conflict (session_id, request_id) do nothing
        returning *`
      if (!inserted) {
        const [first] = await sql<ApprovalRow[]>`select * from approval_requests where session_id = ${session.id} and request_id = ${request.request_id}`
        return toState(first!)
      }
      log.info({ monitoring_id: session.id, approval_id: inserted.id, kind: inserted.kind, status: inserted.status }, 'approval requested')
      if (!refused) await advance(session.id, session.userId)
      publish(session.userId, session.id)
      return toState((await findApproval(sql, session.id, inserted.id))!)
    },

    /** POST .../settle: the plugin saw the request end without the phone. The phone may have won already. */
    async settleFromPlugin(session: MonitoringSession, approvalId: string, body: SettleRequest): Promise<ApprovalState | undefined> {
      const existing = await findApproval(sql, session.id, approvalId)
      if (!existing) return undefined
      if (!isOpen(existing.status)) return toState(existing)
      const now = clock.now()
      // The plugin's clock may be off: kept only between the request's creation and now.
      const claimed = new Date(body.settled_at).getTime()
      const decidedAt = new Date(Math.min(now.getTime(), Math.max(existing.created_at.getTime(), claimed)))
      const settled = await settleOpen(sql, existing.id, {
        status: 'settled_elsewhere',
        decidedBy: body.decided_by,
        decidedAt,
        terminalDecision: body.decision,
        evidence: body.evidence,
      })
      if (!settled) return toState((await findApproval(sql, session.id, approvalId))!)
      log.info({ approval_id: settled.id, decided_by: body.decided_by }, 'approval settled by the plugin')
      publish(session.userId, session.id)
      await advance(session.id, session.userId)
      return toState(settled)
    },

    /** The session ended or was stopped: its open requests are settled (`session_end`), nothing more is texted. */
    async endSessions(sessionIds: string[]): Promise<void> {
      const ended = await settleForSessionEnd(sql, sessionIds, clock.now())
      const seen = new Set<string>()
      for (const r of ended) {
        if (seen.has(r.session_id)) continue
        seen.add(r.session_id)
        publish(r.user_id, r.session_id)
      }
    },
  }
}

export type Approvals = ReturnType<typeof createApprovals>
