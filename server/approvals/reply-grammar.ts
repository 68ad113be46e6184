import type { ApprovalQuestion } from '../../contract/approvals.js'
import { normalizeTag } from './tags.js'

/**
 * What a text from the phone says about approval requests. Pure: the inbound route first lets STOP,
 * START, HELP and the other verbs go (server/sms/inbound-commands.ts), then asks here, then applies
 * the answer to a request (server/approvals/service.ts).
 *
 *   Y K7QX · yes k7qx · K7QX allow! · ok   -> allow   (a bare word: the one pending request)
 *   N K7QX · no, K7QX · deny K7QX          -> deny    (N K7QX use yarn: deny with those words)
 *   2 K7QX · K7QX 1,3 · K7QX 1:2 2:1,3     -> option numbers, per question
 *   K7QX use MySQL instead                  -> the person's own words
 */
export type ParsedReply =
  | { kind: 'decision'; decision: 'allow' | 'deny'; tag: string | null; note?: string }
  | { kind: 'choices'; tag: string | null; picks: Pick[] }
  | { kind: 'words'; tag: string; text: string }
  | { kind: 'none' }

/** Options chosen for one question (1-based); question null: in the order the questions were asked. */
export interface Pick {
  question: number | null
  options: number[]
}

const ALLOW = new Set(['Y', 'YES', 'ALLOW', 'OK', 'OKAY', 'APPROVE', 'YEP', 'YEAH'])
const DENY = new Set(['N', 'NO', 'DENY', 'REJECT', 'NOPE'])
const CHOICE = /^(?:(\d{1,2}):)?(\d{1,2}(?:,\d{1,2})*)$/

interface Token {
  raw: string
  /** Upper case, with the punctuation around it removed. */
  word: string
}

/**
 * `knownTags`: the tags of requests texted to this number (any state). A tag-shaped word counts as the
 * tag when it is one of them; otherwise only when the rest of the text is a decision or numbers, so
 * that "make it so" is not read as a reply to a request "MAKE".
 */
export function parseReply(body: string, knownTags: ReadonlySet<string> = new Set()): ParsedReply {
  const text = body.normalize('NFKC').replace(/\s+/g, ' ').trim()
  if (!text) return { kind: 'none' }
  const tokens: Token[] = text
    .split(' ')
    .map((raw) => ({ raw, word: raw.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '').toUpperCase() }))
    .filter((t) => t.word)
  if (!tokens.length) return { kind: 'none' }

  const isDecisionWord = (w: string) => ALLOW.has(w) || DENY.has(w)
  const known = tokens.findIndex((t) => !isDecisionWord(t.word) && knownTags.has(normalizeTag(t.word) ?? ''))
  const shaped = tokens.findIndex((t) => !isDecisionWord(t.word) && normalizeTag(t.word) !== undefined)
  const tagAt = known >= 0 ? known : shaped
  const rest = tokens.filter((_, i) => i !== tagAt)
  const tag = tagAt >= 0 ? normalizeTag(tokens[tagAt]!.word)! : null

  const decision = decisionOf(rest)
  if (decision) return { kind: 'decision', tag, decision: decision.decision, ...(decision.note ? { note: decision.note } : {}) }

  const picks = picksOf(rest)
  if (picks) return { kind: 'choices', tag, picks }

  // Words are an answer only next to a tag this number was really sent.
  if (known >= 0 && rest.length && !rest.every((t) => isDecisionWord(t.word))) {
    const words = text.split(' ')
    const at = words.findIndex((w) => normalizeTag(w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')) === tag)
    const own = words.filter((_, i) => i !== at).join(' ').replace(/^[\s:,.-]+/, '').trim()
    if (own) return { kind: 'words', tag: tag!, text: own }
  }
  // A tag-shaped word and nothing else: the person named a request but said nothing about it.
  return { kind: 'none' }
}

function decisionOf(rest: Token[]): { decision: 'allow' | 'deny'; note?: string } | undefined {
  if (!rest.length) return undefined
  const first = rest[0]!.word
  const decision = ALLOW.has(first) ? 'allow' : DENY.has(first) ? 'deny' : undefined
  if (!decision) {
    // "K7QX ... Y" with the word last, e.g. "k7qx - yes"
    const last = rest[rest.length - 1]!.word
    if (rest.length === 1 || !isOnly(rest, last)) return undefined
    return { decision: ALLOW.has(last) ? 'allow' : 'deny' }
  }
  const others = rest.slice(1)
  if (others.every((t) => t.word === first)) return { decision }
  // "N use yarn instead": a denial with a reason. "Y no" or "yes ... deny": contradictory, not an answer.
  if (decision === 'deny' && !others.some((t) => ALLOW.has(t.word))) return { decision, note: others.map((t) => t.raw).join(' ').trim() }
  return undefined
}

function isOnly(rest: Token[], word: string): boolean {
  return (ALLOW.has(word) || DENY.has(word)) && rest.every((t) => t.word === word)
}

function picksOf(rest: Token[]): Pick[] | undefined {
  if (!rest.length) return undefined
  const picks: Pick[] = []
  for (const t of rest) {
    const m = CHOICE.exec(t.raw.replace(/^[^\d]+|[^\d]+$/g, ''))
    if (!m) return undefined
    picks.push({ question: m[1] ? Number(m[1]) : null, options: m[2]!.split(',').map(Number) })
  }
  return picks
}

/** What the phone's choices or words mean for a question request: the answers Claude receives, or why not. */
export function answersFor(reply: Extract<ParsedReply, { kind: 'choices' | 'words' }>, questions: ApprovalQuestion[]): { answers: Record<string, string> } | { error: string } {
  if (!questions.length) return { error: 'This request has no question to answer.' }
  if (reply.kind === 'words') {
    if (questions.length > 1) return { error: 'Several questions: answer each by number, e.g. 1:2 2:1' }
    return { answers: { [questions[0]!.question]: reply.text } }
  }
  const picks = reply.picks
  const byQuestion = new Map<number, number[]>()
  if (picks.every((p) => p.question === null)) {
    if (questions.length === 1) byQuestion.set(1, picks.flatMap((p) => p.options))
    else if (picks.length === questions.length) picks.forEach((p, i) => byQuestion.set(i + 1, p.options))
    else return { error: `Answer each of the ${questions.length} questions, e.g. 1:2 2:1` }
  } else {
    for (const p of picks) {
      if (p.question === null) return { error: 'Number each answer with its question, e.g. 1:2 2:1' }
      byQuestion.set(p.question, [...(byQuestion.get(p.question) ?? []), ...p.options])
    }
  }
  for (const n of byQuestion.keys()) if (n < 1 || n > questions.length) return { error: `There is no question ${n}.` }
  const answers: Record<string, string> = {}
  for (const [n, question] of questions.entries()) {
    const chosen = byQuestion.get(n + 1)
    if (!chosen?.length) return { error: questions.length > 1 ? `Question ${n + 1} has no answer.` : 'Pick an option by its number.' }
    const unique = [...new Set(chosen)]
    if (unique.length > 1 && !question.multiSelect) return { error: `Question ${questions.length > 1 ? `${n + 1} ` : ''}takes one option.` }
    const labels: string[] = []
    for (const option of unique) {
      const label = question.options[option - 1]?.label
      if (!label) return { error: `Question ${questions.length > 1 ? `${n + 1} ` : ''}has no option ${option}.` }
      labels.push(label)
    }
    answers[question.question] = labels.join(', ')
  }
  return { answers }
}

/** A tag must never read as an answer or a number: "DENY" or "1234" would be. */
export function isUsableTag(tag: string): boolean {
  return !ALLOW.has(tag) && !DENY.has(tag) && /[A-Z]/.test(tag)
}
