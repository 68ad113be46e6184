import { z } from 'zod'
import { ServerRejected } from '../api.js'
import { answer, humanTime, refusal, serverTrouble, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_pair'
export const description = 'Step 2 of pairing: the 6-digit code texted after sms_setup.'
export const inputSchema = {
  code: z.string().max(40).describe('The 6-digit code'),
}

/** How long sms_pair waits for the browser to come back when the person was quicker than the redirect. */
const CALLBACK_GRACE_MS = 5_000

export async function handler(ctx: ToolContext, args: { code: string }): Promise<ToolAnswer> {
  const code = args.code.replace(/[\s-]/g, '')
  if (!/^\d{6}$/.test(code)) return refusal(['The code is the 6 digits from the text, e.g. /sms-notifier:sms-pair 123456.'], { error: 'invalid_code' })
  const server = ctx.config.authUrl
  if (!server) return refusal([ctx.config.authUrlProblem ?? 'CLAUDE_SMS_AUTH_URL is not set.'], { error: 'config' })
  const pending = ctx.login.pending
  if (!pending) return refusal(['No pairing in progress. Run /sms-notifier:sms-setup first.'], { error: 'no_pairing' })

  let tempToken: string
  if (pending.mode === 'browser') {
    const received = pending.callback.result() ?? (await pending.callback.wait(CALLBACK_GRACE_MS))
    if (!received && !pending.callback.isOpen()) {
      ctx.login.pending = undefined
      return refusal(['This pairing attempt expired (10 minutes). Run /sms-notifier:sms-setup again.'], { error: 'expired' })
    }
    if (!received) {
      return refusal(["The browser step isn't finished yet. Open this page, enter your phone number, then run /sms-notifier:sms-pair <code> again:", pending.url], { error: 'browser_pending' })
    }
    tempToken = received.temp_token
  } else {
    tempToken = pending.tempToken
  }

  try {
    const paired = await ctx.api.exchange(server, { temp_token: tempToken, pairing_code: code })
    const auth = await ctx.auth.save(server, paired)
    if (pending.mode === 'browser') pending.callback.close()
    ctx.login.pending = undefined
    return answer([`Paired with ${auth.phone} (until ${humanTime(auth.expires_at)}; renewed while you use it).`, 'Next: /sms-notifier:sms-start "<what this session is doing>" to get texts for this session.'], {
      paired: true,
      phone: auth.phone,
      expires_at: auth.expires_at,
      next: 'sms_start',
    })
  } catch (error) {
    if (error instanceof ServerRejected && error.code === 'invalid_pairing_code') {
      return refusal(["That code isn't right. Check the text and run /sms-notifier:sms-pair <code> again."], { error: error.code })
    }
    if (error instanceof ServerRejected && (error.status === 401 || error.code === 'token_expired')) {
      ctx.login.pending = undefined
      return refusal(['This pairing attempt expired (10 minutes, or too many wrong codes). Run /sms-notifier:sms-setup again.'], { error: error.code })
    }
    return serverTrouble(error, server)
  }
}
