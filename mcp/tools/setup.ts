import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { CONSOLE_MODE_CODE_HINT, TEMP_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import { startLoginCallback } from '../login-callback.js'
import { answer, refusal, serverTrouble, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_setup'
export const description =
  'Step 1 of pairing this computer with a phone for SMS alerts. Opens the sign-in page in a browser; with a phone number (or over SSH) the code is texted directly. Then sms_pair.'
export const inputSchema = {
  phone: z.string().max(40).optional().describe('International format, e.g. +14155550123'),
}

const LISTEN_MS = TEMP_TOKEN_TTL_SECONDS * 1000

export async function handler(ctx: ToolContext, args: { phone?: string }): Promise<ToolAnswer> {
  const server = ctx.config.authUrl
  if (!server) return refusal([ctx.config.authUrlProblem ?? 'CLAUDE_SMS_AUTH_URL is not set.'], { error: 'config' })
  const phone = args.phone?.trim()

  if (phone) {
    const digits = phone.replace(/[\s().-]/g, '')
    if (!/^\+[1-9]\d{6,14}$/.test(digits)) {
      return refusal([`"${phone}" doesn't look like a phone number in international format.`, 'Try again with the country code, e.g. /sms-notifier:sms-setup +14155550123'], { error: 'invalid_phone' })
    }
    return remote(ctx, server, digits)
  }

  if (ctx.config.remoteShell) {
    return answer(
      [
        "You're connected over SSH, so no browser opens here.",
        'Run /sms-notifier:sms-setup with your phone number, e.g. /sms-notifier:sms-setup +14155550123: the code comes by text.',
      ],
      { next: 'sms_setup with phone' },
    )
  }

  closePending(ctx)
  const state = randomBytes(24).toString('base64url')
  const callback = await startLoginCallback({ state, ttlMs: LISTEN_MS, log: ctx.log })
  const url = `${server}/login?${new URLSearchParams({ src: 'claude', callback_uri: callback.callbackUri, state })}`
  ctx.login.pending = { mode: 'browser', state, url, callback, startedAt: ctx.now() }
  const opened = await ctx.openUrl(url).catch(() => false)
  return answer(
    [
      opened ? 'Opened the pairing page in your browser. If it did not open, visit:' : 'Open this page in your browser:',
      url,
      'Enter your phone number there; a 6-digit code comes by text. Then run /sms-notifier:sms-pair <code>.',
    ],
    { mode: 'browser', url, browser_opened: opened, next: 'sms_pair' },
  )
}

async function remote(ctx: ToolContext, server: string, phone: string): Promise<ToolAnswer> {
  closePending(ctx)
  const state = randomBytes(24).toString('base64url')
  try {
    const login = await ctx.api.remoteLogin(server, { phone, state })
    ctx.login.pending = { mode: 'remote', state, tempToken: login.temp_token, phone: login.phone, startedAt: ctx.now() }
    const minutes = Math.round(login.expires_in / 60)
    const lines =
      login.sms === 'console'
        ? [`A code for ${login.phone} is ready. ${CONSOLE_MODE_CODE_HINT}`, `Then run /sms-notifier:sms-pair <code> (within ${minutes} minutes).`]
        : [`Code sent by text to ${login.phone}.`, `Check your phone, then run /sms-notifier:sms-pair <code> (within ${minutes} minutes).`]
    return answer(lines, {
      mode: 'remote',
      phone: login.phone,
      next: 'sms_pair',
    })
  } catch (error) {
    return serverTrouble(error, server)
  }
}

function closePending(ctx: ToolContext) {
  if (ctx.login.pending?.mode === 'browser') ctx.login.pending.callback.close()
  ctx.login.pending = undefined
}
