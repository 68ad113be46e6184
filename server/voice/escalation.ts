import type { Sql } from 'postgres'
import type { ApprovalQuestion } from '../../contract/approvals.js'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import { periodicPass } from '../periodic-pass.js'
import { hashPhone, maskPhone } from '../phone.js'
import type { SessionUpdates } from '../session-updates.js'
import { projectName } from '../sms/format.js'
import { loadRecipient } from '../sms/subscription.js'
import { decideCall } from './policy.js'
import { fullScript, requestScript, waitScript } from './script.js'
import { callsInLastDay } from './store.js'
import type { VoiceTransport } from './transport.js'

export interface EscalationDeps {
  sql: Sql
  clock: Clock
  log: Logger
  /** Undefined when calls cannot be placed (a Messaging Service without a number): nothing is called. */
  voice: VoiceTransport | undefined
  publicUrl: string
  pepper: string
  /** Calls per user per rolling 24 hours (VOICE_DAILY_CAP). */
  dailyCap: number
  updates?: SessionUpdates
}

export interface EscalationResult {
  placed: number
  /** Held for quiet hours or a pause: asked again at the next sweep. */
  held: number
  /** Not placed for good: opted out, daily cap, provider refused. */
  refused: number
}

/** Something texted and unanswered for the person's call delay. */
interface Due {
  approval_id: string | null
  event_id: string | null
  session_id: string
  user_id: string
}

// A request or wait older than this is not called about any more, even when held all along.
const TOO_OLD_MS = 12 * 3_600_000

/**
 * Escalation by phone call, sweeper-style: requests (approval requests still pending) and waiting texts
 * unanswered for the person's N minutes, in sessions that are still waiting, get ONE call each. The call's
 * row is inserted (unique per request or wait) before the provider is asked, so a second process, a
 * second sweep or a restart never calls twice; a crash between the two leaves a call never placed
 * rather than one placed twice.
 */
export function createEscalation(deps: EscalationDeps) {
  const { sql, clock, log } = deps

  async function dueNow(now: Date): Promise<Due[]> {
    const oldest = new Date(now.getTime() - TOO_OLD_MS)
    return sql<Due[]>`
      select a.id as approval_id, null::uuid as event_id, a.session_id, a.user_id
      from approval_requests a
      join user_settings us on us.user_id = a.user_id and us.call_for_requests
      join monitoring_sessions s on s.id = a.session_id and s.status = 'active'
      where a.status = 'pending' and a.sms_sent and a.texted_at > ${oldest}
        and a.texted_at <= ${now}::timestamptz - make_interval(mins => us.call_after_minutes)
        and not exists (select 1 from voice_calls c where c.approval_id = a.id)
      union all
      select null::uuid, e.id, e.session_id, e.user_id
      from session_events e
      join user_settings us on us.user_id = e.user_id and us.call_for_waits
      join monitoring_sessions s on s.id = e.session_id and s.status = 'active'
      where e.event_type = 'waiting' and e.outcome = 'sent' and e.received_at > ${oldest}
        and e.received_at <= ${now}::timestamptz - make_interval(mins => us.call_after_minutes)
        -- still waiting: the person has not been active since (heartbeat's last_activity), nothing happened after
        and (s.last_activity_at is null or s.last_activity_at <= e.occurred_at)
        and not exists (select 1 from session_events l where l.session_id = e.session_id and l.event_type <> 'went_dark'
                          and (l.occurred_at > e.occurred_at or (l.occurred_at = e.occurred_at and l.received_at > e.received_at)))
        and not exists (select 1 from voice_calls c where c.event_id = e.id)
      limit 100`
  }

  /** The call's words, from the same rows as the text. */
  async function scriptFor(due: Due): Promise<{ script: ReturnType<typeof requestScript>; stillOpen: boolean } | undefined> {
    if (due.approval_id) {
      const [a] = await sql<{ kind: 'permission' | 'question'; tool_name: string; summary: string; questions: ApprovalQuestion[] | null; cwd: string | null; status: string; project: string | null }[]>`
        select a.kind, a.tool_name, a.summary, a.questions, a.cwd, a.status, s.project
        from approval_requests a join monitoring_sessions s on s.id = a.session_id where a.id = ${due.approval_id}`
      if (!a) return undefined
      return { script: requestScript({ kind: a.kind, tool: a.tool_name, summary: a.summary, questions: a.questions, project: projectName(a.project, a.cwd) }), stillOpen: a.status === 'pending' }
    }
    const [e] = await sql<{ details: Record<string, unknown>; project: string | null }[]>`
      select e.details, s.project from session_events e join monitoring_sessions s on s.id = e.session_id where e.id = ${due.event_id}`
    if (!e) return undefined
    return { script: waitScript({ details: e.details ?? {}, project: projectName(e.project, e.details?.cwd) }), stillOpen: true }
  }

  /** One due item: decide, claim (the unique row), place. */
  async function escalate(due: Due, result: EscalationResult): Promise<void> {
    const now = clock.now()
    const recipient = await loadRecipient(sql, due.user_id)
    if (!recipient || !deps.voice) return
    const [settings] = await sql<{ calls_break_quiet_hours: boolean }[]>`select calls_break_quiet_hours from user_settings where user_id = ${due.user_id}`
    const words = await scriptFor(due)
    if (!words?.stillOpen) return
    const script = fullScript(words.script)

    const claimed = await sql.begin(async (tx) => {
      // One user at a time, so that two processes cannot both slip under the daily cap.
      await tx`select pg_advisory_xact_lock(hashtextextended(${`voice:${due.user_id}`}, 0))`
      const decision = decideCall(recipient, { callsBreakQuietHours: settings?.calls_break_quiet_hours ?? false }, now, await callsInLastDay(tx as unknown as Sql, due.user_id, now), deps.dailyCap)
      if (!decision.call && !decision.final) return { held: decision.reason }
      const [row] = await tx<{ id: string }[]>`
        insert into voice_calls (user_id, session_id, approval_id, event_id, to_masked, to_hash, script, transport, status, outcome, created_at, updated_at)
        select ${due.user_id}, ${due.session_id}, ${due.approval_id}, ${due.event_id}, ${maskPhone(recipient.phoneE164)}, ${hashPhone(recipient.phoneE164, deps.pepper)},
               ${script}, ${deps.voice!.name}, ${decision.call ? 'placing' : 'not_placed'}, ${decision.call ? null : decision.reason}, ${now}, ${now}
        where ${due.approval_id === null} or exists (select 1 from approval_requests where id = ${due.approval_id} and status = 'pending')
        on conflict do nothing
        returning id`
      return row ? { id: row.id, refused: decision.call ? undefined : decision.reason } : undefined
    })
    if (!claimed) return
    if ('held' in claimed) {
      result.held++
      return
    }
    if (claimed.refused) {
      result.refused++
      log.warn({ call_id: claimed.id, user_id: due.user_id, reason: claimed.refused, cap: deps.dailyCap }, 'call not placed')
      publish(due)
      return
    }
    await place(claimed.id, due, recipient.phoneE164, script, result)
  }

  async function place(callId: string, due: Due, to: string, script: string, result: EscalationResult): Promise<void> {
    // Settled between the claim and now (the terminal, a text): no call at all.
    if (due.approval_id) {
      const [open] = await sql`select 1 from approval_requests where id = ${due.approval_id} and status = 'pending'`
      if (!open) {
        await sql`update voice_calls set status = 'not_placed', outcome = 'settled_before_call', updated_at = ${clock.now()} where id = ${callId}`
        return
      }
    }
    try {
      const placed = await deps.voice!.place(
        { to, url: `${deps.publicUrl}/twilio/voice/calls/${callId}`, statusCallback: `${deps.publicUrl}/twilio/voice/status`, script },
        { signal: AbortSignal.timeout(10_000) },
      )
      // A status callback may have come first: never step back from a later status.
      await sql`
        update voice_calls set provider_sid = coalesce(provider_sid, ${placed.providerSid}), updated_at = ${clock.now()},
          status = case when voice_status_rank(${placed.status}) > voice_status_rank(status) then ${placed.status} else status end
        where id = ${callId}`
      result.placed++
      log.info({ call_id: callId, monitoring_id: due.session_id, to: maskPhone(to), about: due.approval_id ? 'request' : 'wait' }, 'call placed')
    } catch (err) {
      // Not retried: a second attempt could ring twice if the first one did reach the provider.
      const message = (err as Error)?.message ?? String(err)
      await sql`update voice_calls set status = 'not_placed', outcome = 'provider_error', error_message = ${message.slice(0, 300)}, updated_at = ${clock.now()} where id = ${callId}`
      result.refused++
      log.warn({ call_id: callId, err_message: message }, 'call not placed: the provider refused it')
    }
    publish(due)
  }

  function publish(due: Due) {
    deps.updates?.publish({ userId: due.user_id, monitoringId: due.session_id, kind: 'call' })
  }

  async function sweep(): Promise<EscalationResult> {
    const result: EscalationResult = { placed: 0, held: 0, refused: 0 }
    if (!deps.voice) return result
    for (const due of await dueNow(clock.now())) {
      try {
        await escalate(due, result)
      } catch (err) {
        log.error({ err, monitoring_id: due.session_id }, 'could not escalate by phone call')
      }
    }
    return result
  }

  const job = periodicPass(sweep, (err) => log.error({ err }, 'call sweep failed'))
  return {
    sweep,
    start(intervalMs: number) {
      if (deps.voice) job.start(intervalMs)
    },
    stop: job.stop,
  }
}

export type Escalation = ReturnType<typeof createEscalation>
