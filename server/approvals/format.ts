import type { ApprovalQuestion } from '../../contract/approvals.js'
import { toGsm7, whatClaudeWants, type Charset } from '../sms/format.js'
import { redactSecrets } from '../sms/redact.js'
import { segmentInfo } from '../sms/segments.js'

/**
 * The text of an approval request: what Claude wants, in the project it works on, and how to answer
 * with the tag. At most 2 segments in either charset: what came from the user's machine is redacted,
 * then clipped until it fits. Never asks for a bare YES: Twilio takes a lone YES as its opt-in keyword.
 */
export const MAX_REQUEST_SEGMENTS = 2

export interface RequestTextInput {
  kind: 'permission' | 'question'
  tool: string
  summary: string
  questions?: ApprovalQuestion[]
  project: string | null
  tag: string
  charset: Charset
}

interface Field {
  value: string
  min: number
}

export function formatRequestText(input: RequestTextInput): string {
  const ellipsis = input.charset === 'gsm7' ? '...' : '…'
  const clean = (s: string) => {
    const oneLine = redactSecrets(s).replace(/\s+/g, ' ').trim()
    return input.charset === 'gsm7' ? toGsm7(oneLine) : oneLine
  }
  const project: Field = { value: input.project ? cut(clean(input.project), 30, ellipsis) : '', min: 8 }
  const where = () => (project.value ? ` (${project.value})` : '')
  const { tag } = input

  let fields: Field[]
  let build: () => string
  const questions = input.kind === 'question' ? (input.questions ?? []) : []
  if (!questions.length) {
    const what: Field = { value: clean(whatClaudeWants(input.tool, input.summary)), min: 24 }
    fields = [what, project]
    build = () => [`Claude${where()}: ${what.value}`, `Reply Y ${tag} to allow, N ${tag} to deny`, 'Reply STOP to disable'].join('\n')
  } else if (questions.length === 1) {
    const q = questions[0]!
    const question: Field = { value: clean(q.question), min: 30 }
    const labels: Field[] = q.options.map((o) => ({ value: clean(o.label), min: 6 }))
    fields = [question, ...labels, project]
    const pickLine = q.multiSelect ? `Reply ${tag} 1,3 to pick, or ${tag} and your own words` : `Reply 2 ${tag} to pick 2, or ${tag} and your own words`
    build = () => [`Claude asks${where()}: ${question.value}`, ...labels.map((l, i) => `${i + 1} ${l.value}`), pickLine].join('\n')
  } else {
    const texts: Field[] = questions.map((q) => ({ value: clean(q.question), min: 16 }))
    const labels: Field[][] = questions.map((q) => q.options.map((o) => ({ value: clean(o.label), min: 5 })))
    fields = [...texts, ...labels.flat(), project]
    const example = questions.map((q, i) => `${i + 1}:${q.multiSelect ? '1,2' : '1'}`).join(' ')
    build = () =>
      [
        `Claude asks${where()}:`,
        ...questions.map((q, i) => `Q${i + 1} ${texts[i]!.value}${q.multiSelect ? ' (any)' : ''} ${labels[i]!.map((l, j) => `${j + 1} ${l.value}`).join(' ')}`),
        `Reply ${tag} ${example}`,
      ].join('\n')
  }

  for (let guard = 0; guard < 5_000; guard++) {
    const body = build()
    const info = segmentInfo(body)
    if (info.segments <= MAX_REQUEST_SEGMENTS) return body
    const budget = info.encoding === 'GSM-7' ? MAX_REQUEST_SEGMENTS * 153 : MAX_REQUEST_SEGMENTS * 67
    const over = info.units - budget
    // The longest field that can still give room gives it.
    const field = fields.filter((f) => length(f.value) > Math.max(f.min, 1)).sort((a, b) => length(b.value) - length(a.value))[0]
    if (!field) {
      if (project.value) {
        project.value = ''
        continue
      }
      // Nothing left to shorten: options keep their numbers only, then the text says where to look.
      if (fields.some((f) => f.min > 0 && f !== project)) {
        for (const f of fields) f.min = 0
        for (const f of fields) if (f.value.length > 12) f.value = cut(f.value, 12, ellipsis)
        continue
      }
      const tooLong = `Claude asks${where()}: ${questions.length} question${questions.length === 1 ? '' : 's'}, too long for a text. Answer at the terminal.`
      return tooLong

    }
    const before = length(field.value)
    field.value = cut(field.value, Math.max(field.min, before - over - length(ellipsis)), ellipsis)
    if (length(field.value) >= before) field.value = cut(field.value, field.min, ellipsis)
  }
  return build()
}

const length = (s: string) => Array.from(s).length

function cut(s: string, max: number, ellipsis: string): string {
  const chars = Array.from(s)
  if (chars.length <= max) return s
  return chars.slice(0, Math.max(0, max - Array.from(ellipsis).length)).join('').trimEnd() + ellipsis
}

/** "14:12" in the user's zone, with the day when it was not today. */
export function localTime(at: Date, timeZone: string, now: Date): string {
  const opts: Intl.DateTimeFormatOptions = { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
  const day = (d: Date) => d.toLocaleDateString('en-CA', { timeZone })
  const time = at.toLocaleTimeString('en-GB', opts)
  return day(at) === day(now) ? time : `${at.toLocaleDateString('en-US', { timeZone, month: 'short', day: 'numeric' })} ${time}`
}
