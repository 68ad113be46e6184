import type { Sql } from 'postgres'
import twilio from 'twilio'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import type { Approvals } from '../approvals/service.js'
import { phoneRefusal, settleOpen, type ApprovalRow, type PhoneRefusal } from '../approvals/store.js'
import type { SessionUpdates } from '../session-updates.js'
import { REQUEST_PROMPT } from './script.js'
import type { CallRow } from './store.js'

export interface CallAnswerDeps {
  sql: Sql
  clock: Clock
  log: Logger
  approvals: Approvals
  publicUrl: string
  updates?: SessionUpdates
}

const GOODBYE = 'Goodbye.'

/**
 * What a call says when answered and what a keypress does. A permission request's keypress settles it
 * exactly as a text reply would (first answer wins, through approval_requests' status); the call
 * re-reads the request's state at every step, so a request settled while the phone rang is said to be
 * settled.
 */
export function createCallAnswers(deps: CallAnswerDeps) {
  const { sql, clock, log } = deps

  async function approvalOf(call: CallRow): Promise<ApprovalRow | undefined> {
    if (!call.approval_id) return undefined
    const [row] = await sql<ApprovalRow[]>`select * from approval_requests where id = ${call.approval_id}`
    return row
  }

  /** A wait is still waiting when nothing happened in its session since the waiting text. */
  async function stillWaiting(call: CallRow): Promise<boolean> {
    const [row] = await sql<{ waiting: boolean }[]>`
      select s.status = 'active' and (s.last_activity_at is null or s.last_activity_at <= e.occurred_at)
             and not exists (select 1 from session_events l where l.session_id = e.session_id and l.event_type <> 'went_dark' and l.occurred_at > e.occurred_at) as waiting
      from session_events e join monitoring_sessions s on s.id = e.session_id where e.id = ${call.event_id}`
    return row?.waiting ?? false
  }

  function gatherAction(call: CallRow) {
    return `${deps.publicUrl}/twilio/voice/calls/${call.id}/gather`
  }

  function readOut(call: CallRow, twiml: InstanceType<typeof twilio.twiml.VoiceResponse>) {
    const [message, prompt] = splitScript(call.script)
    const gather = twiml.gather({ numDigits: 1, action: gatherAction(call), method: 'POST', timeout: 8, actionOnEmptyResult: false })
    gather.say(message)
    gather.say(prompt)
    twiml.say(`No key was pressed. The request is still waiting. ${GOODBYE}`)
  }

  return {
    /** The TwiML Twilio fetches when the call is answered. */
    async answered(call: CallRow): Promise<string> {
      const twiml = new twilio.twiml.VoiceResponse()
      if (call.approval_id) {
        const approval = await approvalOf(call)
        if (!approval || approval.status !== 'pending') {
          twiml.say(`${settledPhrase(approval)} ${GOODBYE}`)
        } else if (approval.kind === 'permission') {
          readOut(call, twiml)
        } else twiml.say(`${call.script} ${GOODBYE}`)
      } else if (await stillWaiting(call)) {
        twiml.say(`${call.script} ${GOODBYE}`)
      } else {
        twiml.say(`This is Claude Code. Claude is no longer waiting for you: it was answered. ${GOODBYE}`)
      }
      return twiml.toString()
    },

    /** One keypress: 1 allows, 2 denies, 9 reads the request again; returns the TwiML to answer. */
    async pressed(call: CallRow, digits: string): Promise<{ twiml: string; outcome: string }> {
      const now = clock.now()
      const twiml = new twilio.twiml.VoiceResponse()
      const approval = await approvalOf(call)
      let outcome: string
      // Decided at the keypress, not when the call was placed: the switch, STOP or the session's end win.
      const decisive = digits === '1' || digits === '2'
      const refusal = decisive && approval?.kind === 'permission' && approval.status === 'pending' ? await phoneRefusal(sql, approval.id) : null
      if (!approval || approval.kind !== 'permission') {
        twiml.say(`This call takes no keys. Answer at the terminal. ${GOODBYE}`)
        outcome = 'ignored'
      } else if (approval.status !== 'pending') {
        twiml.say(`${settledPhrase(approval)} ${GOODBYE}`)
        outcome = 'already_settled'
      } else if (digits === '9') {
        readOut(call, twiml)
        outcome = 'repeated'
      } else if (refusal) {
        twiml.say(`${refusedPhrase(refusal)} ${GOODBYE}`)
        outcome = 'refused'
      } else if (decisive) {
        const allow = digits === '1'
        const settled = await settleOpen(sql, approval.id, {
          status: allow ? 'allowed' : 'denied',
          decidedBy: 'phone',
          decidedAt: now,
          onlyPending: true,
          message: allow ? undefined : `Denied by phone call to ${call.to_masked}`,
          replyText: `keypress ${digits} on a phone call`,
        })
        const current = settled ? undefined : await approvalOf(call)
        if (!settled && current?.status === 'pending') {
          // Still pending: the phone lost the right to decide while the key was read.
          twiml.say(`${refusedPhrase((await phoneRefusal(sql, approval.id)) ?? 'session_ended')} ${GOODBYE}`)
          outcome = 'refused'
        } else if (!settled) {
          // The terminal or a text won a moment ago.
          twiml.say(`${settledPhrase(current)} ${GOODBYE}`)
          outcome = 'already_settled'
        } else {
          log.info({ approval_id: settled.id, status: settled.status, call_id: call.id }, 'approval settled by a keypress')
          deps.updates?.publish({ userId: call.user_id, monitoringId: call.session_id, kind: 'approval' })
          await deps.approvals.advance(call.session_id, call.user_id)
          twiml.say(allow ? `Allowed. Claude goes on. ${GOODBYE}` : `Denied. Claude is told so. ${GOODBYE}`)
          outcome = allow ? 'allowed' : 'denied'
        }
      } else {
        twiml.say('That key does nothing here.')
        readOut(call, twiml)
        outcome = 'unknown_key'
      }
      await sql`update voice_calls set keypress = ${digits}, outcome = ${outcome}, updated_at = ${now} where id = ${call.id}`
      deps.updates?.publish({ userId: call.user_id, monitoringId: call.session_id, kind: 'call' })
      return { twiml: twiml.toString(), outcome }
    },
  }
}

export type CallAnswers = ReturnType<typeof createCallAnswers>

/** Why a keypress decided nothing although the request still waits. */
export function refusedPhrase(reason: PhoneRefusal): string {
  switch (reason) {
    case 'account_disabled':
      return 'Approvals from the phone are turned off in your dashboard settings. Nothing was decided. Answer at the terminal.'
    case 'opted_out':
      return 'You opted out with STOP. Nothing was decided. Answer at the terminal.'
    case 'session_disabled':
      return 'Approvals from the phone are off for this session. Nothing was decided. Answer at the terminal.'
    case 'session_ended':
      return 'This request ended with its session.'
  }
}

/** The stored script is "message prompt"; the key prompt is said apart, inside the Gather. */
function splitScript(script: string): [string, string] {
  return script.endsWith(REQUEST_PROMPT) ? [script.slice(0, -REQUEST_PROMPT.length).trim(), REQUEST_PROMPT] : [script, '']
}

/** "This request was already allowed at the terminal." */
export function settledPhrase(a: ApprovalRow | undefined): string {
  if (!a) return 'This request is no longer waiting.'
  const how = a.status === 'allowed' ? 'allowed' : a.status === 'denied' ? 'denied' : a.status === 'answered' ? 'answered' : 'settled'
  switch (a.decided_by) {
    case 'phone':
      return a.reply_text?.includes('phone call') ? `This request was already ${how} on a call.` : `This request was already ${how} by text.`
    case 'terminal':
      return `This request was already ${a.terminal_decision === 'allowed' ? 'allowed' : a.terminal_decision === 'denied' ? 'denied' : 'answered'} at the terminal.`
    case 'timeout':
      return 'This request timed out. Answer at the terminal.'
    case 'session_end':
      return 'This request ended with its session.'
    default:
      return `This request was already ${how}.`
  }
}
