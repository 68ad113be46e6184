import { z } from 'zod'
import { DESCRIPTION_MAX_LENGTH } from '../../contract/api.js'
import { ServerRejected } from '../api.js'
import { PAIRING_EXPIRED } from '../auth.js'
import { answer, humanDuration, refusal, serverTrouble, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_start'
export const description = 'Start SMS alerts for this Claude session: errors, long tasks done, or waiting for the user.'
export const inputSchema = {
  // Longer input is let through here so that the handler can answer it in words.
  description: z.string().max(5 * DESCRIPTION_MAX_LENGTH).describe(`What this session is doing, at most ${DESCRIPTION_MAX_LENGTH} characters; shown in the texts`),
  approvals: z
    .boolean()
    .optional()
    .describe("Let the person allow or deny Claude's permission requests, and answer its questions, by replying to a text. Off unless the person asked for it (e.g. /sms-notifier:sms-start --approvals)."),
}

export const ALREADY_MONITORING = 'Session already monitoring. Use /sms-notifier:sms-stop first.'

/** Why approvals by text are off although they were asked for, from the start answer. */
function approvalsOffReason(answered: boolean | undefined): string {
  return answered === false
    ? 'your account does not accept approvals by text (the dashboard setting "never accept approvals by text")'
    : 'the server did not turn them on (it may not support them yet)'
}

export async function handler(ctx: ToolContext, args: { description: string; approvals?: boolean }): Promise<ToolAnswer> {
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
  let { auth } = pairing
  const sessionId = ctx.monitor.claudeSessionId
  const startedAt = ctx.now().toISOString()
  const approvalsAsked = args.approvals ?? ctx.config.approvals
  let approvals: boolean
  let approvalsOff: string | null = null
  const request = {
    claude_session_id: sessionId,
    description,
    hostname: ctx.config.hostname,
    ...(ctx.config.project ? { project: ctx.config.project } : {}),
    started_at: startedAt,
    heartbeat_interval_ms: Math.min(3_600_000, Math.max(1_000, ctx.config.heartbeatIntervalMs)),
    ...(approvalsAsked ? { approvals: true } : {}),
  }
  try {
    let started
    try {
      started = await ctx.api.startSession(auth.server_url, auth.access_token, request)
    } catch (error) {
      if (!(error instanceof ServerRejected && error.status === 401)) throw error
      // Another Claude session may have refreshed the shared token meanwhile: use the newer one, once.
      const again = await ctx.auth.rejected(auth.access_token, error.code)
      if (!again.ok) return refusal([again.message], { error: 'pairing_expired' })
      auth = again.auth
      started = await ctx.api.startSession(auth.server_url, auth.access_token, request)
    }
    approvals = approvalsAsked && started.approvals_enabled === true
    if (approvalsAsked && !approvals) approvalsOff = approvalsOffReason(started.approvals_enabled)
    await ctx.monitor.begin({
      claude_session_id: sessionId,
      monitoring_id: started.monitoring_id,
      session_token: started.session_token,
      server_url: auth.server_url,
      description,
      project: ctx.config.project ?? null,
      hostname: ctx.config.hostname,
      started_at: startedAt,
      approvals,
      approvals_off_reason: approvalsOff,
    })
  } catch (error) {
    if (error instanceof ServerRejected && error.status === 401) {
      const gone = await ctx.auth.rejected(auth.access_token, error.code)
      return refusal([gone.ok ? PAIRING_EXPIRED : gone.message], { error: 'pairing_expired' })
    }
    if (error instanceof ServerRejected && error.status === 409) return refusal([ALREADY_MONITORING], { error: 'already_monitoring' })
    // The server's own words say what to do (e.g. too many sessions running: stop some).
    if (error instanceof ServerRejected && error.status === 429 && error.code === 'rate_limited') return refusal([error.message], { error: 'rate_limited' })
    return serverTrouble(error, auth.server_url)
  }
  const { inactivityThresholdMs, doneThresholdMs } = ctx.config
  return answer(
    [
      `Monitoring "${description}". Texts go to ${auth.phone} when Claude hits an error, finishes a task that ran over ${humanDuration(doneThresholdMs)}, or waits for you over ${humanDuration(inactivityThresholdMs)}.`,
      approvalLine(approvals, approvalsOff, inactivityThresholdMs),
      'Run /sms-notifier:sms-stop to end it.',
    ],
    { monitoring: true, description, phone: auth.phone, started_at: startedAt, approvals, ...(approvalsOff ? { approvals_off_reason: approvalsOff } : {}) },
  )
}

export function approvalLine(on: boolean, offReason: string | null, thresholdMs: number): string {
  if (on) return `Approvals by text are on: a permission request or question nobody answers here within ${humanDuration(thresholdMs)} is texted, and a reply answers it. Whichever answer comes first wins.`
  if (offReason) return `Approvals by text are off: ${offReason}.`
  return 'Approvals by text are off (start with --approvals to answer permission requests from your phone).'
}
