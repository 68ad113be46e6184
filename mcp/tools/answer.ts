import { ServerRejected, ServerUnreachable } from '../api.js'

/**
 * A tool's answer: a few plain lines the person reads in Claude's output (what happened, what to do
 * next), plus the same facts as structured content for Claude. The lines are in the structured content
 * too (`message`): Claude Code 2.1.331 hands the model the structured content instead of the text.
 */
export interface ToolAnswer {
  [key: string]: unknown
  content: { type: 'text'; text: string }[]
  structuredContent: Record<string, unknown>
  isError?: boolean
}

export function answer(lines: string[], data: Record<string, unknown> = {}): ToolAnswer {
  return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { ok: true, message: lines.join('\n'), ...data } }
}

export function refusal(lines: string[], data: Record<string, unknown> = {}): ToolAnswer {
  return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { ok: false, message: lines.join('\n'), ...data }, isError: true }
}

/** What went wrong talking to the server, in words that say what to do. */
export function serverTrouble(error: unknown, serverUrl: string): ToolAnswer {
  if (error instanceof ServerUnreachable) {
    return refusal([`Can't reach the notifier server at ${serverUrl}.`, 'Check that it is running and that CLAUDE_SMS_AUTH_URL is right, then try again.'], { error: 'unreachable' })
  }
  if (error instanceof ServerRejected) {
    if (error.status === 429) return refusal([`The server says: too many requests. Wait a minute and try again.`], { error: error.code })
    return refusal([`The server refused: ${error.message}`], { error: error.code, status: error.status })
  }
  throw error
}

export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${ms} ms`
  if (ms < 60_000) return `${Math.round(ms / 1_000)} s`
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`
}

export function humanTime(iso: string): string {
  return new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
}
