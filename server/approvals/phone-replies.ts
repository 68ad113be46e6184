import type { Sql } from 'postgres'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import { hashPhone, maskPhone } from '../phone.js'
import { redactSecrets } from '../sms/redact.js'
import { localTime } from './format.js'
import { answersFor, parseReply, type ParsedReply } from './reply-grammar.js'
import { phoneRefusal, settleOpen, type ApprovalRow, type PhoneRefusal } from './store.js'
import type { Approvals } from './service.js'
import type { SessionUpdates } from '../session-updates.js'

/** A bare Y or N answers the one pending request only when it was texted this recently. */
export const BARE_REPLY_WINDOW_MS = 60 * 60_000
/**
 * A request texted because the phone just answered the one before it is not answered by a bare Y or N
 * arriving within this time: that may be the first answer sent twice (a second tap, a phone's resend),
 * written before this request was seen. The tag is asked for instead.
 */
export const BARE_REPLY_SETTLE_MS = 2 * 60_000

export interface PhoneRepliesDeps {
  sql: Sql
  clock: Clock
  log: Logger
  pepper: string
  approvals: Approvals
  updates?: SessionUpdates
}

/**
 * A text from a paired number that is none of the verbs (STOP, START, HELP, STATUS, PAUSE, RESUME):
 * when it answers an approval request, settle it (first answer wins) and return the reply to text
 * back; undefined when the text is not about approvals at all.
 */
export function createPhoneReplies(deps: PhoneRepliesDeps) {
  const { sql, clock } = deps

  return async function replyFromPhone(user: { id: string }, from: string, body: string): Promise<string | undefined> {
    const now = clock.now()
    const fromHash = hashPhone(from, deps.pepper)
    // Only requests texted to this very number: a tag is worth nothing from another phone.
    const texted = await sql<(ApprovalRow & { time_zone: string | null })[]>`
      select a.*, s.time_zone from approval_requests a left join user_settings s on s.user_id = a.user_id
      where a.user_id = ${user.id} and a.texted_to_hash = ${fromHash} and a.tag is not null
      order by a.texted_at desc limit 200`
    const parsed = parseReply(body, new Set(texted.map((r) => r.tag!)))
    if (parsed.kind === 'none') return undefined
    const timeZone = texted[0]?.time_zone ?? (await userTimeZone(sql, user.id))
    const pending = texted.filter((r) => r.status === 'pending')

    let request: ApprovalRow | undefined
    if (parsed.tag) {
      request = texted.find((r) => r.tag === parsed.tag)
      if (!request) return `No request ${parsed.tag} is waiting for you.${pendingList(pending)}`
    } else {
      const recent = pending.filter((r) => now.getTime() - r.texted_at!.getTime() <= BARE_REPLY_WINDOW_MS)
      if (pending.length === 0) return 'Nothing is waiting for your answer.'
      if (pending.length > 1 || recent.length !== 1) return `Which request? Add its tag.${pendingList(pending)}`
      request = recent[0]!
      const lastAnswer = Math.max(0, ...texted.filter((r) => r.decided_by === 'phone' && r.decided_at).map((r) => r.decided_at!.getTime()))
      if (request.texted_at!.getTime() >= lastAnswer && now.getTime() - lastAnswer < BARE_REPLY_SETTLE_MS) {
        return `Which request? ${request.tag} was texted just after your last answer: add its tag.${pendingList(pending)}`
      }
    }
    if (request.status !== 'pending') return settledReply(request, timeZone, now)
    const refusal = await phoneRefusal(sql, request.id)
    if (refusal) return refusalReply(refusal, request)

    const outcome = decisionFor(parsed, request, from)
    if ('error' in outcome) return outcome.error.includes(request.tag!) ? outcome.error : `${outcome.error} (${request.tag})`
    const settled = await settleOpen(sql, request.id, {
      ...outcome,
      decidedBy: 'phone',
      decidedAt: now,
      onlyPending: true,
      textedToHash: fromHash,
      replyText: redactSecrets(body).slice(0, 500),
    })
    if (!settled) {
      // Settled a moment ago by the terminal or another reply: say how. Still pending: the phone may no
      // longer decide (a switch turned on, STOP, the session ended while this reply was read).
      const [current] = await sql<ApprovalRow[]>`select * from approval_requests where id = ${request.id}`
      if (current?.status === 'pending') return refusalReply((await phoneRefusal(sql, request.id)) ?? 'session_ended', request)
      return settledReply(current!, timeZone, now)
    }
    deps.log.info({ approval_id: settled.id, status: settled.status }, 'approval settled by text')
    deps.updates?.publish({ userId: user.id, monitoringId: settled.session_id, kind: 'approval' })
    await deps.approvals.advance(settled.session_id, user.id)
    return confirmation(settled)
  }
}

type Outcome = { status: 'allowed' | 'denied' | 'answered'; message?: string; answers?: Record<string, string> } | { error: string }

function decisionFor(parsed: Exclude<ParsedReply, { kind: 'none' }>, request: ApprovalRow, from: string): Outcome {
  const by = `by text from ${maskPhone(from)}`
  if (parsed.kind === 'decision' && parsed.decision === 'deny') {
    const note = parsed.note ? `: ${parsed.note.slice(0, 300)}` : ''
    return { status: 'denied', message: `${request.kind === 'question' ? 'Declined' : 'Denied'} ${by}${note}` }
  }
  if (request.kind === 'permission') {
    if (parsed.kind === 'decision') return { status: 'allowed' }
    return { error: `Reply Y ${request.tag} to allow, N ${request.tag} to deny.` }
  }
  if (parsed.kind === 'decision') return { error: `Pick an option by its number, e.g. 1 ${request.tag}.` }
  const result = answersFor(parsed, request.questions ?? [])
  if ('error' in result) return result
  return { status: 'answered', answers: result.answers }
}

/** Why a reply was not taken although its request is still pending: nothing was decided. */
export function refusalReply(reason: PhoneRefusal, r: ApprovalRow): string {
  switch (reason) {
    case 'account_disabled':
      return 'Approvals by text are turned off in your dashboard settings: answer at the terminal.'
    case 'opted_out':
      return `You opted out of texts (STOP): ${r.tag} was not answered. Answer at the terminal, or send START first.`
    case 'session_disabled':
      return `Approvals by text are off for this session: ${r.tag} was not answered. Answer at the terminal.`
    case 'session_ended':
      return `${r.tag} ended with its session.`
  }
}

function confirmation(r: ApprovalRow): string {
  const what = r.kind === 'question' ? 'question' : r.tool_name
  switch (r.status) {
    case 'allowed':
      return `Allowed ${what} (${r.tag}).`
    case 'denied':
      return `Denied ${what} (${r.tag}).`
    default:
      return `Answered (${r.tag}): ${Object.values(r.answers ?? {}).join('; ').slice(0, 100)}`
  }
}

/** "K7QX was already allowed at the terminal at 14:12." */
export function settledReply(r: ApprovalRow, timeZone: string, now: Date): string {
  const at = r.decided_at ? ` at ${localTime(r.decided_at, timeZone, now)}` : ''
  switch (r.decided_by) {
    case 'phone':
      return `${r.tag} was already ${r.status === 'answered' ? 'answered' : r.status} by text${at}.`
    case 'terminal': {
      const how = r.terminal_decision === 'allowed' ? 'allowed' : r.terminal_decision === 'denied' ? 'denied' : 'answered'
      return `${r.tag} was already ${how} at the terminal${at}.`
    }
    case 'timeout':
      return `${r.tag} timed out${at}; answer at the terminal.`
    case 'session_end':
      return `${r.tag} ended with its session${at}.`
    default:
      return `${r.tag} is no longer waiting.`
  }
}

function pendingList(pending: ApprovalRow[]): string {
  if (!pending.length) return ''
  const items = pending.slice(0, 5).map((r) => `${r.tag} (${r.kind === 'question' ? 'question' : r.tool_name})`)
  return ` Waiting: ${items.join(', ')}. Reply Y <tag> or N <tag>.`
}

async function userTimeZone(sql: Sql, userId: string): Promise<string> {
  const [row] = await sql<{ time_zone: string }[]>`select time_zone from user_settings where user_id = ${userId}`
  return row?.time_zone ?? 'UTC'
}
