import { StopResponse } from '../../contract/api.js'
import { answer, humanDuration, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_stop'
export const description = 'Stop SMS alerts for this Claude session.'
export const inputSchema = {}

/** How long sms_stop waits for the server's summary before answering with what it has. */
const REPORT_DEADLINE_MS = 5_000

export async function handler(ctx: ToolContext): Promise<ToolAnswer> {
  const ended = await ctx.monitor.stop('user_stopped')
  if (!ended) return answer(['Not monitoring this session. Start with /sms-notifier:sms-start "<what this session is doing>".'], { monitoring: false })
  const { session, stop } = ended
  await ctx.outbox.flush({ force: true, deadlineMs: REPORT_DEADLINE_MS })
  const delivery = ctx.outbox.outcomeOf(stop.id)
  const summary = delivery?.outcome === 'delivered' ? StopResponse.safeParse(delivery.answer) : undefined
  if (summary?.success) {
    const s = summary.data.session_summary
    return answer(
      [
        `Stopped monitoring "${session.description}" after ${humanDuration(s.duration_seconds * 1000)}: ${s.sms_sent} text${s.sms_sent === 1 ? '' : 's'} sent, ${s.errors_encountered} error${s.errors_encountered === 1 ? '' : 's'} seen.`,
        'Run /sms-notifier:sms-start "<description>" to monitor again.',
      ],
      { monitoring: false, stopped: true, summary: s },
    )
  }
  const queued = (await ctx.outbox.pending()).filter((e) => e.monitoring_id === session.monitoring_id).length
  return answer(
    [`Stopped monitoring "${session.description}" here. The server could not be told yet; ${queued} queued item${queued === 1 ? '' : 's'} will be sent when it is reachable.`],
    { monitoring: false, stopped: true, server_told: false, queued },
  )
}
