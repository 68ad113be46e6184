import { answer, humanTime, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'
import { approvalLine } from './start.js'

export const name = 'sms_status'
export const description = 'Show SMS pairing, this session\'s monitoring and queued alerts.'
export const inputSchema = {}

export async function handler(ctx: ToolContext): Promise<ToolAnswer> {
  const lines: string[] = []
  const data: Record<string, unknown> = {}
  if (!ctx.config.authUrl) lines.push(ctx.config.authUrlProblem ?? 'CLAUDE_SMS_AUTH_URL is not set.')
  for (const problem of ctx.config.problems) lines.push(`Setting problem: ${problem}`)

  const pairing = await ctx.auth.fresh()
  if (pairing.ok) {
    lines.push(`Paired with ${pairing.auth.phone} via ${pairing.auth.server_url}, until ${humanTime(pairing.auth.expires_at)}.`)
    // The token is renewed while in use, but the pairing itself has a fixed end (the server's TOKEN_FAMILY_MAX_DAYS).
    if (pairing.auth.pairing_expires_at) lines.push(`The pairing ends ${humanTime(pairing.auth.pairing_expires_at)}; then run /sms-notifier:sms-setup to pair again.`)
    Object.assign(data, {
      paired: true,
      phone: pairing.auth.phone,
      expires_at: pairing.auth.expires_at,
      server_url: pairing.auth.server_url,
      pairing_expires_at: pairing.auth.pairing_expires_at ?? null,
    })
  } else {
    lines.push(pairing.message)
    data.paired = false
  }
  if (ctx.login.pending) lines.push('Pairing in progress: run /sms-notifier:sms-pair <code> with the code from the text.')

  const session = ctx.monitor.current()
  if (session) {
    const last = session.last_event ? `last event ${session.last_event.name} at ${humanTime(session.last_event.at)}` : 'no events yet'
    lines.push(`Monitoring "${session.description}" since ${humanTime(session.started_at)}: ${session.texts_sent} text${session.texts_sent === 1 ? '' : 's'} sent, ${last}.`)
    lines.push(approvalLine(session.approvals, session.approvals_off_reason, ctx.config.inactivityThresholdMs))
    const waitingApprovals = ctx.approvals.openCount()
    if (waitingApprovals) lines.push(`${waitingApprovals} permission request${waitingApprovals === 1 ? '' : 's'} waiting for an answer.`)
    data.monitoring = {
      description: session.description,
      since: session.started_at,
      texts_sent: session.texts_sent,
      last_event: session.last_event,
      waiting_since: session.clock.waiting?.since ?? null,
      approvals: session.approvals,
      ...(session.approvals_off_reason ? { approvals_off_reason: session.approvals_off_reason } : {}),
      open_permission_requests: waitingApprovals,
    }
  } else {
    lines.push('Not monitoring this session. Run /sms-notifier:sms-start "<what this session is doing>".')
    data.monitoring = null
  }

  const queued = await ctx.outbox.pending()
  if (queued.length) lines.push(`${queued.length} alert${queued.length === 1 ? '' : 's'} queued, to be sent when the server is reachable.`)
  data.queued = queued.length
  return answer(lines, data)
}
