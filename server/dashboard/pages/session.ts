import { describeDeliveryError } from '../../sms/delivery-errors.js'
import { formatDuration, formatTime } from '../format.js'
import { html, type Html } from '../html.js'
import type { SessionDetail, TimelineApproval, TimelineEvent, TimelineText } from '../sessions-query.js'
import { heartbeatAgo, statusBadge } from './sessions.js'
import { callItem, type DashboardCall } from '../../voice/dashboard.js'

const EVENT_LABEL: Record<string, string> = { error: 'Error', done: 'Done', waiting: 'Waiting for input', went_dark: 'Went dark' }

/** What happened to an event, in words, and the badge class that colours it. */
export const OUTCOME: Record<string, { label: string; badge: string }> = {
  pending: { label: 'being handled', badge: 'held' },
  sent: { label: 'texted', badge: 'texted' },
  rate_limited: { label: 'held by the rate limit', badge: 'held' },
  quiet_hours: { label: 'held: quiet hours', badge: 'held' },
  paused: { label: 'held: paused', badge: 'held' },
  opted_out: { label: 'not texted: opted out (STOP)', badge: 'opted-out' },
  disabled: { label: 'not texted: alert turned off', badge: 'muted-badge' },
  below_threshold: { label: 'not texted: shorter than the done threshold', badge: 'muted-badge' },
  undeliverable: { label: 'not texted: the number cannot receive texts', badge: 'failed' },
  send_failed: { label: 'send failed; told in a later text', badge: 'failed' },
}

const TEXT_STATUS: Record<string, string> = {
  sending: 'sending',
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'canceled',
  read: 'delivered',
  logged: 'logged (console, not sent)',
}

export function textStatus(t: { status: string; errorCode: number | null; errorMessage: string | null }): Html {
  const label = TEXT_STATUS[t.status] ?? t.status
  const problem = t.status === 'failed' || t.status === 'undelivered' ? describeDeliveryError(t.errorCode, t.errorMessage) : null
  return html`<span class="badge ${t.status}" data-text-status="${t.status}">${label}</span>${problem ? html` <span class="small" data-text-error>${problem}</span>` : ''}`
}

function textLine(t: TimelineText, prefix: string, timeZone: string, now: Date): Html {
  // Each fact stays on one line; on a narrow phone the facts wrap between each other, never inside one.
  return html`<div class="text"><span class="text-facts">${prefix} ${textStatus(t)}
    <span class="muted small nowrap" data-segments>${t.segments} segment${t.segments === 1 ? '' : 's'}</span>
    <time class="muted small nowrap" datetime="${t.sentAt.toISOString()}">${formatTime(t.sentAt, timeZone, now)}</time></span>
    <details><summary class="small">Text</summary><pre class="detail">${t.body}</pre></details></div>`
}

function eventDetail(e: TimelineEvent): Html {
  const d = e.details
  const str = (k: string) => (typeof d[k] === 'string' && (d[k] as string).trim() ? (d[k] as string) : null)
  const parts: Html[] = []
  if (str('tool_name')) parts.push(html`<div class="small muted">Tool: <code>${str('tool_name')}</code></div>`)
  const body = e.type === 'error' ? (str('error') ?? str('message')) : str('message')
  if (body) parts.push(html`<pre class="detail">${body.length > 4_000 ? `${body.slice(0, 4_000)}…` : body}</pre>`)
  if (e.type === 'done' && typeof d.turn_duration_ms === 'number') parts.push(html`<div class="small muted">Turn ran ${formatDuration(d.turn_duration_ms)}</div>`)
  if (e.type === 'done' && str('reason')) parts.push(html`<div class="small muted">Session ended: ${str('reason')}</div>`)
  return html`${parts}`
}

function timelineItem(e: TimelineEvent, timeZone: string, now: Date): Html {
  const outcome = OUTCOME[e.outcome] ?? { label: e.outcome, badge: 'muted-badge' }
  return html`<li class="${e.type}" data-event-id="${e.id}" data-outcome="${e.outcome}">
  <div class="event-head"><b>${EVENT_LABEL[e.type] ?? e.type}</b>
    <time datetime="${e.occurredAt.toISOString()}">${formatTime(e.occurredAt, timeZone, now)}</time>
    <span class="badge ${outcome.badge}">${outcome.label}</span></div>
  ${eventDetail(e)}
  ${e.text ? textLine(e.text, 'Text:', timeZone, now) : ''}
  ${e.summaryText ? textLine(e.summaryText, 'Told in a later text:', timeZone, now) : e.summarisedAt && !e.text ? html`<div class="text muted small">Told in a later reply (${formatTime(e.summarisedAt, timeZone, now)}).</div>` : ''}
</li>`
}

const APPROVAL_STATUS: Record<string, { label: string; badge: string }> = {
  queued: { label: 'queued behind an earlier request', badge: 'held' },
  pending: { label: 'waiting for an answer', badge: 'held' },
  allowed: { label: 'allowed by text', badge: 'texted' },
  denied: { label: 'denied by text', badge: 'failed' },
  answered: { label: 'answered by text', badge: 'texted' },
  settled_elsewhere: { label: 'settled without the phone', badge: 'muted-badge' },
  refused: { label: 'not texted', badge: 'muted-badge' },
}
const SETTLED_BY: Record<string, string> = { phone: 'by text', terminal: 'at the terminal', timeout: 'timed out', session_end: 'session ended' }
const REFUSED: Record<string, string> = {
  account_disabled: 'approvals by text are off for the account',
  session_disabled: 'approvals were not turned on for this session',
  daily_cap: 'the daily cap of request texts was reached',
  opted_out: 'the number opted out (STOP)',
}

function approvalItem(a: TimelineApproval, timeZone: string, now: Date): Html {
  const known = APPROVAL_STATUS[a.status] ?? { label: a.status, badge: 'muted-badge' }
  // Allowed, denied or answered by a keypress during a call, not by a text reply.
  const status = a.byCall ? { ...known, label: known.label.replace(/ by text$/, ' on a phone call') } : known
  const terminal = a.decidedBy === 'terminal' && a.terminalDecision && a.terminalDecision !== 'unknown' ? ` (${a.terminalDecision})` : ''
  const settled = a.decidedAt && a.decidedBy
    ? html`<div class="small">Settled ${a.byCall ? 'on a phone call' : (SETTLED_BY[a.decidedBy] ?? a.decidedBy)}${terminal} <time datetime="${a.decidedAt.toISOString()}">${formatTime(a.decidedAt, timeZone, now)}</time></div>`
    : ''
  const answers = a.answers ? Object.entries(a.answers) : []
  return html`<li class="approval" data-approval-id="${a.id}" data-approval-status="${a.status}" data-decided-by="${a.decidedBy ?? ''}">
  <div class="event-head"><b>${a.kind === 'question' ? 'Question' : 'Permission request'}</b>
    <time datetime="${a.askedAt.toISOString()}">${formatTime(a.askedAt, timeZone, now)}</time>
    <span class="badge ${status.badge}">${status.label}</span>${a.tag ? html` <code>${a.tag}</code>` : ''}</div>
  <div class="small muted">Tool: <code>${a.toolName}</code></div>
  ${a.summary ? html`<pre class="detail">${a.summary}</pre>` : ''}
  ${a.refusedReason ? html`<div class="small muted">Not texted: ${REFUSED[a.refusedReason] ?? a.refusedReason}</div>` : ''}
  ${a.heldReason && a.status === 'queued' ? html`<div class="small muted">Held: ${a.heldReason === 'paused' ? 'texts are paused' : 'quiet hours'}</div>` : ''}
  ${a.text ? textLine(a.text, 'Text:', timeZone, now) : ''}
  ${settled}
  ${a.message ? html`<div class="small">${a.message}</div>` : ''}
  ${answers.length ? html`<ul class="small">${answers.map(([q, v]) => html`<li>${q}: <b>${v}</b></li>`)}</ul>` : ''}
</li>`
}

export function sessionPage(input: { session: SessionDetail; timeZone: string; now: Date; calls?: DashboardCall[] }): Html {
  const { session: s, timeZone, now } = input
  const calls = input.calls ?? []
  const ended = s.endedAt
  return html`<p class="small"><a href="/dashboard/sessions">← All sessions</a></p>
<div id="live">
<h1 class="desc">${s.description}</h1>
<section class="card">
  <dl class="facts">
    <dt>Status</dt><dd>${statusBadge(s.status)}${s.stopReason ? html` <span class="muted small">(${s.stopReason})</span>` : ''}</dd>
    <dt>Project</dt><dd>${s.project ?? '—'}</dd>
    <dt>Host</dt><dd>${s.hostname ?? '—'}</dd>
    <dt>Started</dt><dd><time datetime="${s.startedAt.toISOString()}">${formatTime(s.startedAt, timeZone, now)}</time></dd>
    <dt>Last heartbeat</dt><dd>${heartbeatAgo(s.lastHeartbeatAt, now)}</dd>
    ${ended ? html`<dt>Ended</dt><dd>${formatTime(ended, timeZone, now)} · ran ${formatDuration(ended.getTime() - s.startedAt.getTime())}</dd>` : ''}
    <dt>Texts sent</dt><dd data-texts>${s.textsSent}</dd>
  </dl>
</section>
<h2>Timeline</h2>
${
  s.timeline.length || s.approvals.length || calls.length
    ? html`<ol class="timeline">${[
        ...s.timeline.map((e) => ({ at: e.occurredAt.getTime(), item: timelineItem(e, timeZone, now) })),
        ...s.approvals.map((a) => ({ at: a.askedAt.getTime(), item: approvalItem(a, timeZone, now) })),
        ...calls.map((c) => ({ at: c.createdAt.getTime(), item: callItem(c, timeZone, now) })),
      ]
        .sort((x, y) => x.at - y.at)
        .map((x) => x.item)}</ol>`
    : html`<div class="card empty">Nothing has happened yet: no errors, no finished turns, nobody waiting.</div>`
}
</div>`
}
