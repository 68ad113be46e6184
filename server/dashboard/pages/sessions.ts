import { formatAgo, formatTime } from '../format.js'
import { html, type Html } from '../html.js'
import { STATUS_LABEL, type SessionStatus } from '../session-status.js'
import type { SessionListItem } from '../sessions-query.js'

export function statusBadge(status: SessionStatus): Html {
  return html`<span class="badge ${status}" data-status="${status}">${STATUS_LABEL[status]}</span>`
}

function lastSignOfLife(s: SessionListItem, timeZone: string, now: Date): Html {
  if (s.endedAt) return html`<time datetime="${s.endedAt.toISOString()}">ended ${formatTime(s.endedAt, timeZone, now)}</time>`
  return heartbeatAgo(s.lastHeartbeatAt, now)
}

/** "2 min ago", or "none yet" for a session that has not sent a heartbeat since it started. */
export function heartbeatAgo(at: Date | null, now: Date): Html {
  return at ? html`<time datetime="${at.toISOString()}">${formatAgo(at, now)}</time>` : html`<span class="muted" data-no-heartbeat>none yet</span>`
}

/** Every monitoring session of the user; the #live region is refreshed when the server pushes an update. */
export function sessionsPage(input: { sessions: SessionListItem[]; timeZone: string; now: Date }): Html {
  const { now, timeZone } = input
  const rows = input.sessions.map(
    (s) => html`<tr data-session-id="${s.id}">
      <td class="main"><a class="desc" href="/dashboard/sessions/${s.id}">${s.description}</a></td>
      <td data-label="Status">${statusBadge(s.status)}</td>
      <td data-label="Project">${s.project ?? '—'}</td>
      <td data-label="Host">${s.hostname ?? '—'}</td>
      <td data-label="Started"><time datetime="${s.startedAt.toISOString()}">${formatTime(s.startedAt, timeZone, now)}</time></td>
      <td data-label="Last heartbeat">${lastSignOfLife(s, timeZone, now)}</td>
      <td data-label="Texts sent" class="num" data-texts>${s.textsSent}</td>
    </tr>`,
  )
  return html`<div class="event-head"><h1>Sessions</h1><span class="muted small"><span class="live-dot"></span>live</span></div>
<div id="live">
${
  input.sessions.length
    ? html`<table class="list sessions">
  <thead><tr><th>Session</th><th>Status</th><th>Project</th><th>Host</th><th>Started</th><th>Last heartbeat</th><th class="num">Texts</th></tr></thead>
  <tbody>${rows}</tbody>
</table>`
    : html`<div class="card empty">No monitored sessions yet. In Claude Code, run <code>/sms-notifier:sms-start</code> to watch a session.</div>`
}
</div>`
}
