import { basename } from 'node:path'
import type { AlertType } from './policy.js'
import { redactSecrets } from './redact.js'
import { isGsm7, segmentInfo } from './segments.js'

/**
 * Turns a monitoring event into the text a phone shows (DESIGN §5 templates). Everything that came
 * from the user's machine is redacted before it is placed in the text, then cut to fit:
 * - unicode (default): emoji templates, at most 3 UCS-2 segments;
 * - gsm7 (SMS_CHARSET=gsm7): the same lines without emoji, transliterated to GSM-7, one 160-septet segment.
 */

export type Charset = 'unicode' | 'gsm7'

/** Held-back events told about in the next text: how many of each type, since when. */
export interface HeldSummary {
  counts: Partial<Record<AlertType, number>>
  since: Date
}

export interface TextInput {
  type: AlertType
  description: string
  /** Project name: basename of the event's cwd, else the session's project. */
  project?: string | null
  details?: Record<string, unknown>
  held?: HeldSummary | null
  /** went_dark: time since the last heartbeat. */
  silentForMs?: number
  charset: Charset
  now: Date
}

const STOP_LINE = 'Reply STOP to disable'
const SAYS_ONLY_WAITING = /^(claude( code)? )?(is )?(still )?waiting for (your |the user's |user )?input[.!…]*$/i
const MAX_SEGMENTS: Record<Charset, number> = { unicode: 3, gsm7: 1 }
const EMOJI: Record<AlertType, string> = { error: '⚠️', done: '✅', waiting: '⏳', went_dark: '📴' }

interface Field {
  value: string
  /** Never cut below this many characters. */
  min: number
}

export function formatText(input: TextInput): string {
  const details = input.details ?? {}
  const ellipsis = input.charset === 'gsm7' ? '...' : '…'
  const clean = (s: string) => {
    const oneLine = redactSecrets(s).replace(/\s+/g, ' ').trim()
    return input.charset === 'gsm7' ? toGsm7(oneLine) : oneLine
  }

  // Shrinkable fields, in the order they give up room when the text is too long.
  const detail: Field = { value: '', min: 20 }
  const description: Field = { value: cut(clean(input.description), 60, ellipsis), min: 12 }
  const project: Field = { value: input.project ? cut(clean(input.project), 40, ellipsis) : '', min: 10 }

  let second: (d: string) => string
  switch (input.type) {
    case 'error':
      detail.value = cut(clean(briefError(details)), 120, ellipsis)
      second = (d) => `Error: ${d}`
      break
    case 'done':
      second = () => 'Completed successfully!'
      break
    case 'waiting': {
      const idleMs = typeof details.idle_ms === 'number' ? details.idle_ms : 600_000
      const idle = `Waiting for input (${Math.max(1, Math.round(idleMs / 60_000))} min idle)`
      // A permission prompt: what Claude wants to do says more than "Claude needs your permission".
      const wants = permissionOf(details)
      const question = wants ? whatClaudeWants(wants.tool, wants.summary) : typeof details.message === 'string' && !SAYS_ONLY_WAITING.test(details.message.trim()) ? questionOf(details.message) : ''
      detail.value = cut(clean(question), 140, ellipsis)
      second = (d) => (d ? `${idle}\n${input.charset === 'gsm7' ? '' : '💬 '}${d}` : idle)
      break
    }
    case 'went_dark':
      second = () => `Went dark: no heartbeat for ${humanDuration(input.silentForMs ?? 0)}`
      break
  }
  let heldLine = input.held ? formatHeld(input.held, input.type, input.now) : ''
  const compactHeld = input.held ? `+${Object.values(input.held.counts).reduce((a, n) => a + (n ?? 0), 0)} held since ${clockTime(input.held.since, input.now)}` : ''

  const build = () => {
    const head = input.charset === 'gsm7' ? `Claude: "${description.value}"` : `${EMOJI[input.type]} Claude: "${description.value}"`
    const lines = [head, second(detail.value)]
    if (project.value) lines.push(`Project: ${project.value}`)
    if (heldLine) lines.push(heldLine)
    lines.push('', STOP_LINE)
    return lines.join('\n')
  }

  const maxSegments = MAX_SEGMENTS[input.charset]
  for (let guard = 0; guard < 50; guard++) {
    const body = build()
    const info = segmentInfo(body)
    if (info.segments <= maxSegments) return body
    const budget = info.encoding === 'GSM-7' ? (maxSegments === 1 ? 160 : maxSegments * 153) : maxSegments === 1 ? 70 : maxSegments * 67
    const over = info.units - budget
    const field = [detail, description, project].find((f) => length(f.value) > f.min)
    if (!field) {
      // Nothing left to shorten: the project line goes, then the held count gets terse, then the text goes as it is.
      if (project.value) project.value = ''
      else if (heldLine && heldLine !== compactHeld) heldLine = compactHeld
      else return body
      continue
    }
    const before = length(field.value)
    field.value = cut(field.value, Math.max(field.min, before - over - length(ellipsis)), ellipsis)
    if (length(field.value) >= before) field.value = cut(field.value, field.min, ellipsis)
  }
  return build()
}

/** "+3 more since 14:05 UTC" for the same type; otherwise "Held back since 14:05 UTC: 2 errors, 1 done". */
export function formatHeld(held: HeldSummary, type: AlertType, now: Date): string {
  const entries = heldEntries(held)
  if (!entries.length) return ''
  const since = clockTime(held.since, now)
  if (entries.length === 1 && entries[0]![0] === type) return `+${entries[0]![1]} more since ${since}`
  return `Held back since ${since}: ${entries.map(([t, n]) => countLabel(t, n)).join(', ')}`
}

/** The body of a digest text sent when a pause or quiet hours end (or the reply to RESUME). */
export function formatDigest(held: HeldSummary, charset: Charset, now: Date, opts: { resumed?: boolean; quietHours?: boolean } = {}): string {
  const entries = heldEntries(held)
  const head = charset === 'gsm7' ? 'Claude SMS' : '🔔 Claude SMS'
  const first = opts.quietHours ? 'Quiet hours over.' : opts.resumed ? 'Texts resumed.' : 'Pause over, texts resumed.'
  const during = opts.quietHours ? 'During quiet hours' : 'While paused'
  const body = entries.length ? `${during} (since ${clockTime(held.since, now)}): ${entries.map(([t, n]) => countLabel(t, n)).join(', ')}.` : `Nothing happened ${during.toLowerCase()}.`
  return `${head}: ${first}\n${body}\nReply STATUS for sessions`
}

const TYPE_ORDER: AlertType[] = ['error', 'waiting', 'done', 'went_dark']
const heldEntries = (held: HeldSummary) => TYPE_ORDER.filter((t) => (held.counts[t] ?? 0) > 0).map((t) => [t, held.counts[t]!] as const)

function countLabel(type: AlertType, n: number): string {
  switch (type) {
    case 'error':
      return `${n} error${n === 1 ? '' : 's'}`
    case 'done':
      return `${n} done`
    case 'waiting':
      return `${n} waiting`
    case 'went_dark':
      return `${n} went dark`
  }
}

/** "14:05 UTC", with the date when it was not today. */
export function clockTime(at: Date, now: Date): string {
  const hhmm = at.toISOString().slice(11, 16)
  if (now.getTime() - at.getTime() < 20 * 3_600_000 && now.toISOString().slice(0, 10) === at.toISOString().slice(0, 10)) return `${hhmm} UTC`
  const day = at.toLocaleString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' })
  return `${day} ${hhmm} UTC`
}

/**
 * How long, as a person says it: "45 s", "8 min", "1 h 25 min" (to 5 minutes), "5 h", "3 days". Each unit
 * is rounded to the nearest, so 59.6 s reads "1 min" and 3 h 50 min reads "4 h", never "119 min".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.round(Math.max(0, ms) / 1000)
  if (seconds < 60) return `${Math.max(1, seconds)} s`
  const minutes = Math.round(ms / 60_000)
  if (minutes < 60) return `${minutes} min`
  if (minutes < 180) {
    const fives = Math.round(minutes / 5) * 5
    const h = Math.floor(fives / 60)
    const m = fives % 60
    return m ? `${h} h ${m} min` : `${h} h`
  }
  const hours = Math.round(minutes / 60)
  if (hours < 48) return `${hours} h`
  return `${Math.round(hours / 24)} days`
}

/**
 * The first meaningful line of a failure. Claude Code's PostToolUseFailure `error` often starts with
 * "Exit code 1" and puts the real message on the next line, so that line is appended.
 */
export function briefError(details: Record<string, unknown>): string {
  const raw = typeof details.error === 'string' && details.error.trim() ? details.error : typeof details.message === 'string' ? details.message : ''
  const lines = raw.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  let brief = lines[0] ?? ''
  if (/^exit code \d+$/i.test(brief) && lines[1]) brief = `${brief}: ${lines[1]}`
  const tool = typeof details.tool_name === 'string' ? details.tool_name.trim() : ''
  if (!brief) return tool ? `${tool} failed` : 'Something failed'
  return tool && !brief.toLowerCase().startsWith(tool.toLowerCase()) ? `${tool}: ${brief}` : brief
}

/** Claude's question: the last sentence with a question mark when the message is long, else the message. */
export function questionOf(message: string): string {
  const text = message.replace(/\s+/g, ' ').trim()
  if (text.length <= 140) return text
  const q = text.lastIndexOf('?')
  if (q < 0) return text
  const before = text.slice(0, q)
  const start = Math.max(before.lastIndexOf('. '), before.lastIndexOf('! '), before.lastIndexOf('? '), before.lastIndexOf(': '))
  return text.slice(start < 0 ? 0 : start + 2, q + 1)
}

/**
 * The project a text names, the same in every kind of text: the last part of the event's cwd, else of
 * what the session was started with (the plugin sends a name; other clients may send a whole path).
 */
export function projectName(sessionProject: string | null | undefined, cwd: unknown): string | null {
  return lastPart(typeof cwd === 'string' ? cwd : '') ?? lastPart(sessionProject ?? '')
}

function lastPart(path: string): string | null {
  return basename(path.trim().replace(/\\/g, '/').replace(/\/+$/, '')) || null
}

const length = (s: string) => Array.from(s).length

function cut(s: string, max: number, ellipsis: string): string {
  const chars = Array.from(s)
  if (chars.length <= max) return s
  return chars.slice(0, Math.max(0, max - Array.from(ellipsis).length)).join('').trimEnd() + ellipsis
}

const GSM_LOOKALIKES: Record<string, string> = { '‘': "'", '’': "'", '‚': "'", '“': '"', '”': '"', '„': '"', '–': '-', '—': '-', '…': '...', '•': '*', '\u00a0': ' ', '`': "'" }

/** Plain GSM-7 text: typographic quotes and dashes mapped, accents dropped where GSM-7 lacks them, the rest "?". */
export function toGsm7(text: string): string {
  let out = ''
  for (const ch of text) {
    if (isGsm7(ch)) out += ch
    else if (GSM_LOOKALIKES[ch]) out += GSM_LOOKALIKES[ch]
    else {
      const base = ch.normalize('NFKD').replace(/\p{M}/gu, '')
      out += base && isGsm7(base) ? base : '?'
    }
  }
  return out
}

/**
 * The permission request a waiting event is about: the plugin's `permission_tool` and
 * `permission_summary`, else Claude Code's own `tool_name` and `tool_input` (PermissionRequest hook).
 */
export function permissionOf(details: Record<string, unknown>): { tool: string; summary: string } | undefined {
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined)
  const tool = str(details.permission_tool)
  if (tool) return { tool, summary: str(details.permission_summary) ?? '' }
  const input = details.tool_input
  const name = str(details.tool_name)
  if (!name || !input || typeof input !== 'object' || Array.isArray(input)) return undefined
  return { tool: name, summary: summaryOfToolInput(input as Record<string, unknown>) }
}

/** The line of a tool call a person needs to judge it: the command, the file, the URL, the pattern. */
export function summaryOfToolInput(input: Record<string, unknown>): string {
  for (const key of ['command', 'file_path', 'notebook_path', 'url', 'pattern', 'query', 'path', 'description']) {
    const v = input[key]
    if (typeof v === 'string' && v.trim()) return v.trim()
  }
  return ''
}

/** "Wants to run: npm test" for Bash, "Asks: Which database?" for a question, "Wants to use Edit: src/app.ts" for the rest. */
export function whatClaudeWants(tool: string, summary: string): string {
  const what = summary.replace(/\s+/g, ' ').trim()
  if (tool === 'Bash') return what ? `Wants to run: ${what}` : 'Wants to run a command'
  // Claude Code's AskUserQuestion tool: the plugin's summary is the question itself.
  if (tool === 'AskUserQuestion') return what ? `Asks: ${what}` : 'Asks you a question'
  return what ? `Wants to use ${tool}: ${what}` : `Wants to use ${tool}`
}
