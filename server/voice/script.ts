/**
 * What a call says: pure, from the same data as the text (the project, what Claude wants or asks),
 * redacted, and clipped so the whole message lasts under 30 seconds.
 */
import type { ApprovalQuestion } from '../../contract/approvals.js'
import { permissionOf, questionOf, whatClaudeWants } from '../sms/format.js'
import { redactSecrets } from '../sms/redact.js'

/** Text-to-speech reads about 2.5 words a second; 30 seconds is 75 words, kept a little under. */
export const WORDS_PER_SECOND = 2.5
export const MAX_SECONDS = 30
const MAX_WORDS = Math.floor(WORDS_PER_SECOND * MAX_SECONDS) - 3

export const REQUEST_PROMPT = 'Press 1 to allow, 2 to deny, 9 to hear it again.'
export const WAIT_PROMPT = 'Answer at the terminal, or reply to the text.'
export const QUESTION_PROMPT = 'Answer by replying to the text, or at the terminal.'

export interface CallScript {
  /** Everything said before the key prompt (or the closing line of a call without keys). */
  message: string
  /** The key prompt (permission requests) or how to answer (waits and questions). */
  prompt: string
  /** Whether the call takes a keypress: only for a permission request. */
  takesKeys: boolean
}

/** Spoken words as a listener hears them: a long token (a path, a hash) takes longer than a word. */
export function spokenWords(text: string): number {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .reduce((n, token) => n + Math.max(1, Math.ceil(token.length / 12)), 0)
}

export function estimatedSeconds(text: string): number {
  return spokenWords(text) / WORDS_PER_SECOND
}

/** The whole script as one string (the outbox and the log show it; the TwiML says it in two parts). */
export function fullScript(s: CallScript): string {
  return `${s.message} ${s.prompt}`
}

export function requestScript(r: { kind: 'permission' | 'question'; tool: string; summary: string; questions?: ApprovalQuestion[] | null; project: string | null }): CallScript {
  const intro = introFor(r.project)
  if (r.kind === 'question') {
    const asked = r.questions?.[0]?.question ?? r.summary
    return build(intro, 'Claude asks:', asked, QUESTION_PROMPT, false)
  }
  return build(intro, '', whatClaudeWants(r.tool, r.summary) + '.', REQUEST_PROMPT, true)
}

/** A waiting text's call: Claude's question or last message, as the waiting text shows it. */
export function waitScript(w: { details: Record<string, unknown>; project: string | null }): CallScript {
  const intro = introFor(w.project)
  const wants = permissionOf(w.details)
  const said = wants ? whatClaudeWants(wants.tool, wants.summary) : typeof w.details.message === 'string' ? questionOf(w.details.message) : ''
  return build(intro, 'Claude is waiting for you.', said, WAIT_PROMPT, false)
}

function introFor(project: string | null): string {
  return project ? `This is Claude Code, project ${speakable(project)}.` : 'This is Claude Code.'
}

function build(intro: string, lead: string, variable: string, prompt: string, takesKeys: boolean): CallScript {
  const fixed = [intro, lead].filter(Boolean).join(' ')
  const room = MAX_WORDS - spokenWords(fixed) - spokenWords(prompt)
  const clipped = clip(speakable(variable), room)
  return { message: [fixed, clipped].filter(Boolean).join(' '), prompt, takesKeys }
}

/** Redacted, on one line, without characters a speech engine reads out as noise. */
function speakable(text: string): string {
  return redactSecrets(text)
    .replace(/\[redacted[^\]]*\]/g, 'redacted')
    .replace(/[`*_#<>{}|\\]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
}

function clip(text: string, words: number): string {
  if (spokenWords(text) <= words) return text
  const out: string[] = []
  let used = 0
  for (const token of text.split(' ')) {
    const cost = Math.max(1, Math.ceil(token.length / 12))
    // "and more" costs two words.
    if (used + cost > words - 2) break
    out.push(token)
    used += cost
  }
  return `${out.join(' ')}, and more.`
}
