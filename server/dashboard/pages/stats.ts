import { formatDuration, formatUsd } from '../format.js'
import { html, type Html } from '../html.js'
import type { DashboardStats } from '../stats.js'

export function statsPage(input: {
  stats: DashboardStats
  pricePerSegment: number
  timeZone: string
  consoleMode: boolean
  /** Escalation calls this month (server/voice/). */
  calls?: { calls: number; minutes: number; costUsd: number; pricePerMinute: number }
}): Html {
  const c = input.calls
  const s = input.stats
  const month = s.monthStart.toLocaleString('en-US', { month: 'long', year: 'numeric', timeZone: input.timeZone })
  const stat = (value: string | number, label: string, key: string) => html`<div class="stat" data-stat="${key}"><b>${value}</b><span>${label}</span></div>`
  return html`<h1>Stats</h1>
<div id="live">
<div class="stats">
  ${stat(s.totalSessions, 'sessions monitored', 'sessions')}
  ${stat(s.totalTexts, 'texts sent', 'texts')}
  ${stat(s.averageSessionMs === null ? '—' : formatDuration(s.averageSessionMs), 'average session', 'average')}
</div>
<h2>${month}</h2>
<div class="stats">
  ${stat(s.monthTexts, 'texts this month', 'month-texts')}
  ${stat(s.monthSegments, 'SMS segments', 'month-segments')}
  ${stat(formatUsd(s.monthCostUsd), 'estimated cost', 'month-cost')}
</div>
${
  c
    ? html`<div class="stats">
  ${stat(c.calls, 'calls this month', 'month-calls')}
  ${stat(c.minutes, 'call minutes', 'month-call-minutes')}
  ${stat(formatUsd(c.costUsd), 'estimated cost of calls', 'month-call-cost')}
</div>
<p class="hint">Calls are billed per started minute: estimate at ${formatUsd(c.pricePerMinute)} per minute (<code>VOICE_PRICE_PER_MINUTE</code>).</p>`
    : ''
}
<p class="hint">Carriers bill per segment: a text of up to 160 plain characters (70 with emoji) is one segment, longer ones
  are split. Estimate at ${formatUsd(input.pricePerSegment)} per segment (<code>SMS_PRICE_PER_SEGMENT</code>).${
    input.consoleMode ? ' Twilio is not configured, so nothing was really sent or billed.' : ''
  }</p>
</div>`
}
