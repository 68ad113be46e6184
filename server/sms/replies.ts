import type { MonitoringSession } from '../monitoring/sessions.js'
import { clockTime, toGsm7, type Charset } from './format.js'
import { redactSecrets } from './redact.js'

/** The texts we send back to a reply from the phone (TwiML bodies). Plain GSM-7 wording. */

export const HELP_REPLY =
  'Claude SMS notifier: texts from your Claude Code sessions. Reply STATUS for sessions, PAUSE 2h (or 30m, 1d) to hold texts, RESUME to resume, STOP to opt out, START to opt back in. Y or N and a request tag (Y K7QX) answers Claude.'

export const NOT_PAIRED_REPLY = 'This number is not paired with a Claude SMS notifier server. Run /sms-notifier:sms-setup in Claude Code to pair it.'

export const BAD_PAUSE_REPLY = 'Could not read that pause. Examples: PAUSE 30m, PAUSE 2h, PAUSE 1d (up to 7 days). RESUME ends a pause.'

export function pauseReply(until: Date, now: Date): string {
  return `Texts paused until ${clockTime(until, now)}. What happens meanwhile is summarised when the pause ends. Reply RESUME to resume now.`
}

export function statusReply(sessions: MonitoringSession[], state: { optedOutAt: Date | null; pausedUntil: Date | null }, now: Date, charset: Charset = 'unicode'): string {
  const lines: string[] = []
  if (!sessions.length) lines.push('No Claude sessions are being monitored.')
  else lines.push(`${sessions.length} session${sessions.length === 1 ? '' : 's'} monitored:`)
  for (const s of sessions.slice(0, 5)) {
    const description = redactSecrets(s.description)
    const desc = description.length > 40 ? `${description.slice(0, 37)}...` : description
    const where = s.project ? ` (${redactSecrets(s.project)})` : ''
    const state = s.status === 'stale' ? `went dark, last heartbeat ${clockTime(s.lastHeartbeatAt, now)}` : 'active'
    lines.push(`- "${desc}"${where}: ${state}`)
  }
  if (sessions.length > 5) lines.push(`and ${sessions.length - 5} more`)
  if (state.optedOutAt) lines.push('You have opted out: reply START to get texts again.')
  else if (state.pausedUntil && state.pausedUntil > now) lines.push(`Texts paused until ${clockTime(state.pausedUntil, now)} (RESUME to resume).`)
  const reply = lines.join('\n')
  return charset === 'gsm7' ? toGsm7(reply) : reply
}
