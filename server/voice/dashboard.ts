/** Calls as the dashboard shows them: on a session's timeline, in the console outbox, in the stats. */
import type { Sql } from 'postgres'
import { formatTime } from '../dashboard/format.js'
import { html, type Html } from '../dashboard/html.js'

export interface DashboardCall {
  id: string
  sessionId: string
  about: 'request' | 'wait'
  toMasked: string
  script: string
  transport: string
  status: string
  durationSeconds: number | null
  keypress: string | null
  outcome: string | null
  createdAt: Date
}

type Row = { id: string; session_id: string; approval_id: string | null; to_masked: string; script: string; transport: string; status: string; duration_seconds: number | null; keypress: string | null; outcome: string | null; created_at: Date }
const toCall = (r: Row): DashboardCall => ({
  id: r.id,
  sessionId: r.session_id,
  about: r.approval_id ? 'request' : 'wait',
  toMasked: r.to_masked,
  script: r.script,
  transport: r.transport,
  status: r.status,
  durationSeconds: r.duration_seconds,
  keypress: r.keypress,
  outcome: r.outcome,
  createdAt: r.created_at,
})

export async function sessionCalls(sql: Sql, userId: string, sessionId: string): Promise<DashboardCall[]> {
  return (await sql<Row[]>`select * from voice_calls where user_id = ${userId} and session_id = ${sessionId} order by created_at`).map(toCall)
}

export async function consoleCalls(sql: Sql, userId: string): Promise<DashboardCall[]> {
  return (await sql<Row[]>`select * from voice_calls where user_id = ${userId} and transport = 'console' order by created_at desc limit 100`).map(toCall)
}

/** This month's calls that reached the provider, and their minutes as billed (each call rounded up to a minute). */
export async function monthCallStats(sql: Sql, userId: string, monthStart: Date): Promise<{ calls: number; minutes: number }> {
  const [row] = await sql<{ calls: number; minutes: number }[]>`
    select count(*)::int as calls, coalesce(sum(ceil(coalesce(duration_seconds, 0) / 60.0)), 0)::int as minutes
    from voice_calls where user_id = ${userId} and created_at >= ${monthStart} and status <> 'not_placed'`
  return { calls: row?.calls ?? 0, minutes: row?.minutes ?? 0 }
}

const STATUS: Record<string, string> = {
  placing: 'placing',
  queued: 'queued',
  initiated: 'queued',
  ringing: 'ringing',
  'in-progress': 'in progress',
  completed: 'completed',
  busy: 'busy',
  'no-answer': 'no answer',
  failed: 'failed',
  canceled: 'canceled',
  logged: 'logged (console, not placed)',
  not_placed: 'not placed',
}

const OUTCOME: Record<string, string> = {
  allowed: 'allowed by the keypress',
  denied: 'denied by the keypress',
  already_settled: 'the request was already settled',
  repeated: 'asked to hear it again',
  unknown_key: 'a key that does nothing',
  ignored: 'a key on a call that takes none',
  opted_out: 'the number opted out (STOP)',
  daily_cap: 'the daily cap of calls was reached (VOICE_DAILY_CAP)',
  settled_before_call: 'settled before the call was placed',
  provider_error: 'the provider refused the call',
}

export function callStatusLabel(status: string): string {
  return STATUS[status] ?? status
}

export function callOutcomeLabel(outcome: string | null): string | null {
  return outcome ? (OUTCOME[outcome] ?? outcome) : null
}

/** The call's line on a session's timeline. */
export function callItem(c: DashboardCall, timeZone: string, now: Date): Html {
  const outcome = callOutcomeLabel(c.outcome)
  return html`<li class="call" data-call-id="${c.id}" data-call-status="${c.status}" data-keypress="${c.keypress ?? ''}">
  <div class="event-head"><b>Phone call</b> <time datetime="${c.createdAt.toISOString()}">${formatTime(c.createdAt, timeZone, now)}</time>
    <span class="badge ${c.status === 'completed' ? 'texted' : c.status === 'not_placed' || c.status === 'failed' ? 'failed' : 'held'}">${callStatusLabel(c.status)}</span>
    <span class="muted small">about a ${c.about === 'request' ? 'permission request' : 'wait'} · to ${c.toMasked}${c.durationSeconds !== null ? ` · ${c.durationSeconds} s` : ''}</span></div>
  ${c.keypress ? html`<div class="small">Key pressed: <b>${c.keypress}</b>${outcome ? ` (${outcome})` : ''}</div>` : outcome ? html`<div class="small muted">${outcome}</div>` : ''}
  <details><summary class="small">What the call says</summary><pre class="detail">${c.script}</pre></details>
</li>`
}

/** Console mode: the outbox lists each call with its script and a form that plays the person pressing a key. */
export function outboxCalls(calls: DashboardCall[], csrfToken: string, timeZone: string, now: Date): Html {
  if (!calls.length) return html``
  return html`<h2>Calls</h2>
${calls.map(
  (c) => html`<article class="card" data-call-id="${c.id}" data-call-status="${c.status}">
  <div class="event-head"><b>${c.toMasked}</b><span class="badge muted-badge">call about a ${c.about === 'request' ? 'request' : 'wait'}</span>
    <time datetime="${c.createdAt.toISOString()}">${formatTime(c.createdAt, timeZone, now)}</time>
    <span class="muted small">${callStatusLabel(c.status)}</span></div>
  <pre class="detail">${c.script}</pre>
  ${c.keypress ? html`<p class="small" data-call-outcome="${c.outcome ?? ''}">Key pressed: <b>${c.keypress}</b> (${callOutcomeLabel(c.outcome) ?? ''})</p>` : ''}
  ${
    c.about === 'request' && c.status !== 'not_placed'
      ? html`<form method="post" action="/dashboard/outbox/calls/${c.id}/keypress" class="inline">
    <input type="hidden" name="csrf" value="${csrfToken}">
    <label for="digits-${c.id}">Simulate keypress</label>
    <select id="digits-${c.id}" name="digits"><option value="1">1: allow</option><option value="2">2: deny</option><option value="9">9: hear it again</option></select>
    <button type="submit">Press</button>
  </form>`
      : ''
  }
</article>`,
)}`
}
