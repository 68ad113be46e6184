import { rm } from 'node:fs/promises'
import { ServerRejected } from '../api.js'
import { answer, humanTime, type ToolAnswer } from './answer.js'
import type { ToolContext } from './context.js'

export const name = 'sms_logout'
export const description = 'Unpair this computer: revoke its token on the server and delete local SMS state.'
export const inputSchema = {}

export async function handler(ctx: ToolContext): Promise<ToolAnswer> {
  const auth = await ctx.auth.load()
  await ctx.monitor.stop('logout')
  let serverTold = false
  let note: string | undefined
  if (auth) {
    try {
      try {
        await ctx.api.logout(auth.server_url, auth.access_token, 5_000)
      } catch (error) {
        // Another Claude session may have refreshed the token meanwhile: log out with the newer one,
        // so the server revokes the pairing (every token of it) and not just a token it already retired.
        const current = error instanceof ServerRejected && error.status === 401 ? await ctx.auth.load() : undefined
        if (!current || current.access_token === auth.access_token) throw error
        await ctx.api.logout(current.server_url, current.access_token, 5_000)
      }
      serverTold = true
    } catch (error) {
      // A token the server already refuses is as logged out as it gets.
      if (error instanceof ServerRejected && error.status === 401) serverTold = true
      else note = `The server could not be reached, so the pairing was removed only here; its token stops working by ${humanTime(auth.expires_at)}.`
    }
  }
  // Local state goes whatever the server said: the person asked for it gone.
  await ctx.auth.clear()
  await rm(ctx.paths.sessionsDir, { recursive: true, force: true })
  await rm(ctx.paths.outboxDir, { recursive: true, force: true })
  if (ctx.login.pending?.mode === 'browser') ctx.login.pending.callback.close()
  ctx.login.pending = undefined
  const lines = auth ? [`Logged out: this computer no longer texts ${auth.phone}.`] : ['Not paired; local state cleared.']
  if (note) lines.push(note)
  lines.push('Run /sms-notifier:sms-setup to pair again.')
  return answer(lines, { paired: false, server_told: serverTold })
}
