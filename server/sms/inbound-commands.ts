/**
 * What a reply from the user's phone asks for. Twilio's own keywords (help.twilio.com, "opt-out
 * keywords") match the whole message, case-insensitive: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
 * QUIT opt out; START, YES, UNSTOP opt back in; HELP, INFO ask for help. Twilio acts on those itself
 * and still forwards them, so we keep our own flag in step. STATUS, PAUSE <duration> and RESUME are ours.
 */
export type InboundCommand =
  | { kind: 'stop' }
  | { kind: 'start' }
  | { kind: 'help' }
  | { kind: 'status' }
  | { kind: 'pause'; ms: number }
  | { kind: 'bad_pause' }
  | { kind: 'resume' }
  | { kind: 'unknown' }

const STOP_WORDS = new Set(['stop', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'revoke', 'optout'])
const START_WORDS = new Set(['start', 'yes', 'unstop'])
const HELP_WORDS = new Set(['help', 'info'])

export const DEFAULT_PAUSE_MS = 60 * 60_000
export const MAX_PAUSE_MS = 7 * 24 * 60 * 60_000

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

export function parseInboundCommand(body: string): InboundCommand {
  const text = body.trim().replace(/[.!]+$/, '').trim().toLowerCase()
  if (STOP_WORDS.has(text)) return { kind: 'stop' }
  if (START_WORDS.has(text)) return { kind: 'start' }
  if (HELP_WORDS.has(text)) return { kind: 'help' }
  if (text === 'status') return { kind: 'status' }
  if (text === 'resume') return { kind: 'resume' }
  if (text === 'pause') return { kind: 'pause', ms: DEFAULT_PAUSE_MS }
  if (text.startsWith('pause')) {
    // PAUSE 2h, PAUSE 30m, PAUSE 1d, PAUSE 90 min, PAUSE 2 hours
    const m = /^pause\s+(\d{1,4})\s*(m|mins?|minutes?|h|hrs?|hours?|d|days?)$/.exec(text)
    if (!m) return { kind: 'bad_pause' }
    const ms = Number(m[1]) * UNIT_MS[m[2]![0]!]!
    if (ms < 60_000 || ms > MAX_PAUSE_MS) return { kind: 'bad_pause' }
    return { kind: 'pause', ms }
  }
  return { kind: 'unknown' }
}
