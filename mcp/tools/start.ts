import { z } from 'zod'
import { DESCRIPTION_MAX_LENGTH } from '../../contract/api.js'
import { ServerRejected } from '../api.js'
import { answer, humanDuration, refusal, serverTrouble, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_start'
export const description = 'Start SMS alerts for this Claude session: errors, long tasks done, or waiting for the user.'
export const inputSchema = {
  // Longer input is let through here so that the handler can answer it in words.
  description: z.string().max(5 * DESCRIPTION_MAX_LENGTH).describe(`What this session is doing, at most ${DESCRIPTION_MAX_LENGTH} characters; shown in the texts`),
}

export const ALREADY_MONITORING = 'Session already monitoring. Use /sms-notifier:sms-stop first.'

export async function handler(ctx: ToolContext, args: { description: string }): Promise<ToolAnswer> {
  const description = args.description.trim().replace(/\s+/g, ' ')
  if (!description) return refusal(['Say what this session is doing, e.g. /sms-notifier:sms-start "refactor the billing module".'], { error: 'invalid_description' })
  if (description.length > DESCRIPTION_MAX_LENGTH) {
    return refusal([`That description is ${description.length} characters; texts quote at most ${DESCRIPTION_MAX_LENGTH}. Say it in fewer words.`], { error: 'invalid_description' })
  }
  if (ctx.config.problems.length) return refusal(['Fix these settings and restart Claude Code:', ...ctx.config.problems], { error: 'config' })
  if (!ctx.config.authUrl) return refusal([ctx.config.authUrlProblem ?? 'CLAUDE_SMS_AUTH_URL is not set.'], { error: 'config' })
  const current = ctx.monitor.current()
  if (current) return refusal([ALREADY_MONITORING, `(monitoring "${current.description}")`], { error: 'already_monitoring', description: current.description })

  const pairing = await ctx.auth.fresh()
  if (!pairing.ok) return refusal([pairing.message], { error: 'not_paired' })
  const { auth } = pairing
  const sessionId = ctx.monitor.claudeSessionId
  const startedAt = ctx.now().toISOString()
  try {
    const started = await ctx.api.startSession(auth.server_url, auth.access_token, {
      claude_session_id: sessionId,
      description,
      hostname: ctx.config.hostname,
      ...(ctx.config.project ? { project: ctx.config.project } : {}),
      started_at: startedAt,
      heartbeat_interval_ms: Math.min(3_600_000, Math.max(1_000, ctx.config.heartbeatIntervalMs)),
    })
    await ctx.monitor.begin({
      claude_session_id: sessionId,
      monitoring_id: started.monitoring_id,
      session_token: started.session_token,
      server_url: auth.server_url,
      description,
      project: ctx.config.project ?? null,
      hostname: ctx.config.hostname,
      started_at: startedAt,
    })
  } catch (error) {
    if (error instanceof ServerRejected && error.status === 401) return refusal([(await ctx.auth.expired()).message], { error: 'pairing_expired' })
    if (error instanceof ServerRejected && error.status === 409) return refusal([ALREADY_MONITORING], { error: 'already_monitoring' })
    return serverTrouble(error, auth.server_url)
  }
  const { inactivityThresholdMs, doneThresholdMs } = ctx.config
  return answer(
    [
      `Monitoring "${description}". Texts go to ${auth.phone} when Claude hits an error, finishes a task that ran over ${humanDuration(doneThresholdMs)}, or waits for you over ${humanDuration(inactivityThresholdMs)}.`,
      'Run /sms-notifier:sms-stop to end it.',
    ],
    { monitoring: true, description, phone: auth.phone, started_at: startedAt },
  )
}
