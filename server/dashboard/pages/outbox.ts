import { formatTime } from '../format.js'
import { html, type Html } from '../html.js'

export interface OutboxText {
  id: string
  toMasked: string
  kind: string
  body: string
  segments: number
  createdAt: Date
}

const KIND: Record<string, string> = {
  pairing_code: 'code',
  event: 'alert',
  went_dark: 'went dark',
  approval: 'approval request',
  digest: 'summary',
  reply: 'reply',
  test: 'test',
}

/** The console transport's texts: what the server would have sent with Twilio configured. */
export function outboxPage(input: { texts: OutboxText[]; timeZone: string; now: Date; calls?: Html }): Html {
  return html`<h1>Outbox</h1>
<p class="notice small">Twilio is not configured, so texts are not sent: they are printed on the server's terminal
  ("[console text]" lines) and listed here, each person seeing only the texts to their own number. A sign-in or pairing
  code is shown in full while it works (10 minutes); after that, and after a restart, it is blanked (<code>******</code>):
  codes are never stored. Set <code>TWILIO_ACCOUNT_SID</code>, <code>TWILIO_AUTH_TOKEN</code> and
  <code>TWILIO_PHONE_NUMBER</code> to send for real.</p>
<div id="live">
${
  input.texts.length
    ? input.texts.map(
        (t) => html`<article class="card" data-text-id="${t.id}">
  <div class="event-head"><b>${t.toMasked}</b><span class="badge muted-badge">${KIND[t.kind] ?? t.kind}</span>
    <time datetime="${t.createdAt.toISOString()}">${formatTime(t.createdAt, input.timeZone, input.now)}</time>
    <span class="muted small">${t.segments} segment${t.segments === 1 ? '' : 's'}</span></div>
  <pre class="detail">${t.body}</pre>
</article>`,
      )
    : html`<div class="card empty">No texts yet.</div>`
}
${input.calls ?? ''}
</div>`
}
