import { randomUUID } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import type { ApprovalQuestion, ApprovalRequest, ApprovalState, SettleRequest } from '../contract/approvals.js'
import type { Api } from './api.js'
import type { HookEvent } from './events.js'
import type { Logger } from './log.js'
import type { SessionFile } from './store.js'
import { systemTimers, type Timers } from './timers.js'

/**
 * Answering Claude's permission requests from the phone (contract/approvals.ts, DESIGN §3 "Answering
 * from the phone"). Claude Code runs the plugin's PermissionRequest hook while its dialog is on screen;
 * the hook's HTTP request to this process stays open until there is something to say. When nobody
 * answered at the terminal within the waiting threshold, the request is posted to the server, which
 * texts it; the phone's decision comes back by long poll and becomes the hook's answer. Whatever ends
 * the request first wins: the hooks that follow show an answer given at the terminal, and the server is
 * told so that a late reply from the phone is answered "already settled".
 */

/** hooks/hooks.json gives the PermissionRequest hook this long (seconds there); Claude Code then kills it. */
export const PERMISSION_HOOK_TIMEOUT_MS = 86_400_000
/** Seconds per long poll (the contract allows at most 30). */
const POLL_WAIT_S = 25
/** Consecutive failed polls or posts before giving up; the dialog stays usable at the terminal. */
const MAX_FAILURES = 12
const SETTLE_TRIES = 3
const SUMMARY_CHARS = 300

/** What the hook prints on stdout (Claude Code hooks reference, PermissionRequest decision control). */
export type HookDecision = {
  hookSpecificOutput: {
    hookEventName: 'PermissionRequest'
    decision: { behavior: 'allow'; updatedInput?: Record<string, unknown> } | { behavior: 'deny'; message: string }
  }
}

export interface Permission {
  tool_name: string
  summary: string
}

// ---- pure decisions -------------------------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

// Secrets that show up in commands and URLs. A text leaves this computer, so anything that looks like a
// credential becomes ***; the server redacts again (defence in depth).
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/:@]+:[^\s/@]+@/gi, '$1***@'],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 ***'],
  [/\b([A-Za-z0-9_-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?)[A-Za-z0-9_-]*)(["']?\s*[:=]\s*["']?)[^\s"'&;]+/gi, '$1$2***'],
  [/(--?(?:password|passwd|token|secret|api-?key)\s+)[^\s-]\S*/gi, '$1***'],
  [/(\s-p)(?!\s)\S+/g, '$1***'], // mysql -psecret
  [/((?:^|\s)(?:-u|--user)\s+[^\s:]+:)\S+/g, '$1***'], // curl -u user:password
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}/g, '***'],
  [/\b(?:ghp|gho|ghu|ghs|ghr|github_pat|glpat|xox[abpors])[-_][A-Za-z0-9_-]{10,}/g, '***'],
  [/\bAKIA[0-9A-Z]{16}\b/g, '***'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, '***'],
  // A long run of letters and digits mixed is more likely a key than a word.
  [/\b(?=[A-Za-z0-9_+/-]*\d)(?=[A-Za-z0-9_+/-]*[A-Za-z])[A-Za-z0-9_+-]{32,}={0,2}/g, '***'],
]

export function redactSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text)
}

/** One line (whitespace runs become one space), at most `max` characters with an ellipsis: for a text. */
export function clip(value: string, max: number): string {
  const flat = value.replace(/\s+/g, ' ').trim()
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

/** What Claude wants to do, in one line for a text: the command, the file, the URL; redacted and clipped. */
export function summarizeToolInput(toolName: string | undefined, toolInput: unknown): string {
  const input = isRecord(toolInput) ? toolInput : {}
  const str = (key: string) => (typeof input[key] === 'string' && (input[key] as string).trim() ? (input[key] as string) : undefined)
  let line: string | undefined
  if (toolName === 'AskUserQuestion') line = questionsOf(input).map((q) => q.question).join(' / ')
  else {
    const pattern = str('pattern')
    line = str('command') ?? str('file_path') ?? str('notebook_path') ?? str('url') ?? str('query') ?? (pattern ? `${pattern}${str('path') ? ` in ${str('path')}` : ''}` : undefined) ?? str('description') ?? str('prompt')
    line ??= Object.keys(input).length ? JSON.stringify(input) : ''
  }
  return clip(redactSecrets(line), SUMMARY_CHARS)
}

/** "Claude needs your permission to use Bash: npm test": the waiting text's line when approvals are off. */
export function permissionText(permission: Permission): string {
  if (permission.tool_name === 'AskUserQuestion') return `Claude asks: ${permission.summary || 'a question'}`
  return `Claude needs your permission to use ${permission.tool_name}${permission.summary ? `: ${permission.summary}` : ''}`
}

/** AskUserQuestion's `tool_input.questions[]`, fitted to the contract's limits. */
export function questionsOf(input: Record<string, unknown>): ApprovalQuestion[] {
  if (!Array.isArray(input.questions)) return []
  return input.questions
    .filter(isRecord)
    .filter((q) => typeof q.question === 'string' && q.question.trim())
    .slice(0, 4)
    .map((q) => ({
      question: String(q.question).slice(0, 2_000),
      ...(typeof q.header === 'string' ? { header: q.header.slice(0, 200) } : {}),
      options: (Array.isArray(q.options) ? q.options : [])
        .filter(isRecord)
        .filter((o) => typeof o.label === 'string' && o.label)
        .slice(0, 20)
        .map((o) => ({ label: String(o.label).slice(0, 500), ...(typeof o.description === 'string' ? { description: o.description.slice(0, 2_000) } : {}) })),
      multiSelect: q.multiSelect === true,
    }))
}

const decide = (decision: HookDecision['hookSpecificOutput']['decision']): HookDecision => ({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision } })

/** The request a hook waits on: a server answer counts only when it is about this very request. */
export interface AskedRequest {
  approvalId: string
  requestId: string
  kind: ApprovalRequest['kind']
}

/**
 * The hook's answer for a request the phone settled; undefined when the phone did not decide it. An
 * allow is never inferred: it needs the state of this very request (approval_id and request_id), an
 * explicit `decided_by: "phone"`, and a status that fits the request's kind ("allowed" for a permission,
 * "answered" for a question, whose answers name exactly the questions asked). Anything else leaves
 * the dialog to the terminal.
 */
export function hookAnswerFor(state: ApprovalState, toolInput: Record<string, unknown>, asked: AskedRequest): HookDecision | undefined {
  if (state.approval_id !== asked.approvalId || state.request_id !== asked.requestId) return undefined
  if (state.decided_by !== 'phone') return undefined
  switch (state.status) {
    case 'allowed':
      return asked.kind === 'permission' ? decide({ behavior: 'allow' }) : undefined
    case 'denied': {
      const said = state.message?.trim()
      return decide({ behavior: 'deny', message: said && /\bby (?:text|phone call)\b/i.test(said) ? said : `Denied by text from the phone${said ? `: ${said}` : '.'}` })
    }
    case 'answered': {
      if (asked.kind !== 'question') return undefined
      const answers = answersTo(questionsOf(toolInput), state.answers)
      // Claude Code takes updatedInput.answers (question text -> label or words) as the person's answer;
      // nothing else of the tool's input is changed.
      return answers ? decide({ behavior: 'allow', updatedInput: { ...toolInput, answers } }) : undefined
    }
    default:
      return undefined
  }
}

/** The answers, when they answer every question asked and nothing else. */
function answersTo(questions: ApprovalQuestion[], answers: ApprovalState['answers']): Record<string, string> | undefined {
  if (!answers || !questions.length) return undefined
  const asked = new Set(questions.map((q) => q.question))
  const given = Object.entries(answers)
  if (given.length !== asked.size || !given.every(([q, a]) => asked.has(q) && typeof a === 'string' && a.trim() !== '')) return undefined
  return Object.fromEntries(given)
}

/** The hook endpoint trimmed an oversized hook JSON (mcp/hook-endpoint.ts): the tool's input is unknown here. */
export function isTrimmedInput(toolInput: Record<string, unknown>): boolean {
  const keys = Object.keys(toolInput)
  return keys.length === 1 && keys[0] === 'omitted' && typeof toolInput.omitted === 'string'
}

export type Settlement = Omit<SettleRequest, 'settled_at'>

/** A request for a tool call: what the hooks that follow are compared with (there is no tool_use_id). */
export interface ToolCall {
  tool_name: string
  tool_input: Record<string, unknown>
}

/** AskUserQuestion's input comes back with the answers added: they do not make it another call. */
const withoutAnswers = ({ answers: _answers, ...rest }: Record<string, unknown>) => rest

function sameCall(call: ToolCall, event: HookEvent): boolean {
  return event.tool_name === call.tool_name && isRecord(event.tool_input) && isDeepStrictEqual(withoutAnswers(event.tool_input), withoutAnswers(call.tool_input))
}

/** Whether a hook event shows that the request is over without the phone, and how. */
export function settlementOf(event: HookEvent, call: ToolCall): Settlement | undefined {
  const evidence = event.hook_event_name
  switch (event.hook_event_name) {
    case 'PostToolUse':
    case 'PostToolUseFailure':
      return sameCall(call, event) ? { decided_by: 'terminal', evidence, decision: 'allowed' } : undefined
    case 'PermissionDenied':
      return sameCall(call, event) ? { decided_by: 'terminal', evidence, decision: 'denied' } : undefined
    // A new prompt or the end of the turn: the dialog is gone, whatever was chosen in it.
    case 'UserPromptSubmit':
    case 'Stop':
    case 'StopFailure':
      return { decided_by: 'terminal', evidence, decision: 'unknown' }
    case 'SessionEnd':
      return { decided_by: 'session_end', evidence, decision: 'unknown' }
    default:
      return undefined
  }
}

// ---- the open requests of this process ------------------------------------------------------------------

export interface ApprovalsDeps {
  api: Api
  log: Logger
  /** The monitoring session, when there is one. */
  session: () => SessionFile | undefined
  thresholdMs: number
  retryBaseMs: number
  /** The server refused approvals (or could not be reached): the ordinary waiting text instead. */
  fallbackWaiting: (permission: Permission, askedAt: Date) => Promise<void>
  hookTimeoutMs?: number
  now?: () => Date
  timers?: Timers
  random?: () => number
}

interface OpenRequest extends ToolCall {
  id: string
  kind: ApprovalRequest['kind']
  summary: string
  cwd: string | undefined
  askedAt: Date
  session: Pick<SessionFile, 'server_url' | 'monitoring_id' | 'session_token'>
  phase: 'clock' | 'posting' | 'posted' | 'fallback'
  approvalId?: string
  /** Ended here while its post was in flight: the server is told once the post returns. */
  endedWhilePosting?: Settlement
  done: boolean
  timers: unknown[]
  polling: AbortController
  answer: (decision: HookDecision | undefined) => void
}

const FINAL = new Set<ApprovalState['status']>(['allowed', 'denied', 'answered', 'settled_elsewhere', 'refused'])

export function createApprovals(deps: ApprovalsDeps) {
  const now = deps.now ?? (() => new Date())
  const timers = deps.timers ?? systemTimers
  const random = deps.random ?? Math.random
  const open = new Map<string, OpenRequest>()
  const settling = new Set<Promise<unknown>>()

  const pause = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve) => {
      const handle = timers.setTimeout(resolve, ms)
      signal?.addEventListener('abort', () => (timers.clearTimeout(handle), resolve()), { once: true })
    })
  const backoff = (failures: number) => Math.round(Math.min(30_000, deps.retryBaseMs * 2 ** (failures - 1)) * (0.5 + random()))

  function close(request: OpenRequest, decision: HookDecision | undefined) {
    request.done = true
    open.delete(request.id)
    for (const t of request.timers) timers.clearTimeout(t)
    request.polling.abort()
    request.answer(decision)
  }

  /** The request ended without the phone: the hook goes silent, and the server hears it if it knows it. */
  function end(request: OpenRequest, how: Settlement): void {
    if (request.done) return
    close(request, undefined)
    deps.log.info({ request_id: request.id, decided_by: how.decided_by, evidence: how.evidence, phase: request.phase }, 'permission request settled without the phone')
    if (request.approvalId) track(settle(request, how))
    else if (request.phase === 'posting') request.endedWhilePosting = how
  }

  function track(p: Promise<unknown>) {
    settling.add(p)
    void p.finally(() => settling.delete(p))
  }

  async function settle(request: OpenRequest, how: Settlement): Promise<void> {
    const { server_url, monitoring_id, session_token } = request.session
    for (let attempt = 1; attempt <= SETTLE_TRIES; attempt++) {
      try {
        const state = await deps.api.settleApproval(server_url, monitoring_id, session_token, request.approvalId!, { ...how, settled_at: now().toISOString() }, 5_000)
        if (state.decided_by === 'phone') deps.log.info({ request_id: request.id, status: state.status }, 'the phone had settled the request first')
        return
      } catch (error) {
        deps.log.info({ err: error, request_id: request.id, attempt }, 'could not tell the server the request was settled')
        if (attempt < SETTLE_TRIES) await pause(backoff(attempt))
      }
    }
  }

  async function fallBack(request: OpenRequest, why: string) {
    request.phase = 'fallback'
    deps.log.info({ request_id: request.id, why }, 'approval by text not possible; texting that Claude waits instead')
    await deps.fallbackWaiting({ tool_name: request.tool_name, summary: request.summary }, request.askedAt)
  }

  /** The waiting clock rang and the dialog is still open: text it as a request and wait for the phone. */
  async function ring(request: OpenRequest) {
    if (request.done) return
    // Nobody can allow from the phone what the text cannot show: the ordinary waiting text instead.
    if (isTrimmedInput(request.tool_input)) return void (await fallBack(request, 'tool input too large to show'))
    request.phase = 'posting'
    const { server_url, monitoring_id, session_token } = request.session
    const body: ApprovalRequest = {
      request_id: request.id,
      kind: request.kind,
      tool_name: request.tool_name,
      summary: request.summary,
      ...(request.kind === 'question' ? { questions: questionsOf(request.tool_input) } : {}),
      ...(request.cwd ? { cwd: request.cwd } : {}),
      asked_at: request.askedAt.toISOString(),
    }
    let state: ApprovalState | undefined
    // The post itself is never aborted: request_id makes a repeat safe, and a post that reached the
    // server must be followed by a settle, or the person would be texted about a closed dialog.
    for (let failures = 0; !state; ) {
      try {
        state = await deps.api.requestApproval(server_url, monitoring_id, session_token, body)
      } catch (error) {
        failures++
        deps.log.info({ err: error, request_id: request.id, failures }, 'could not post the approval request')
        // Ended meanwhile: posting again could create (and text) a request for a closed dialog.
        if (request.done) return
        if (failures >= MAX_FAILURES) return void (await fallBack(request, 'server unreachable'))
        await pause(backoff(failures))
      }
    }
    if (state.status === 'refused') {
      if (!request.done) await fallBack(request, state.refused_reason ?? 'refused')
      return
    }
    request.approvalId = state.approval_id
    request.phase = 'posted'
    if (request.endedWhilePosting) return track(settle(request, request.endedWhilePosting))
    deps.log.info({ request_id: request.id, approval_id: state.approval_id, status: state.status }, 'permission request texted')
    await follow(request, state)
  }

  /** Long-polls the request's state until the phone or anything else settles it. */
  async function follow(request: OpenRequest, first: ApprovalState) {
    const { server_url, monitoring_id, session_token } = request.session
    let state = first
    let failures = 0
    while (!request.done && !FINAL.has(state.status)) {
      try {
        state = await deps.api.approvalState(server_url, monitoring_id, session_token, request.approvalId!, POLL_WAIT_S, request.polling.signal)
        failures = 0
      } catch (error) {
        if (request.done) return
        failures++
        deps.log.info({ err: error, request_id: request.id, failures }, 'long poll for the phone\'s answer failed')
        if (failures >= MAX_FAILURES) {
          deps.log.warn({ request_id: request.id }, 'stopped waiting for the phone; the dialog is still open at the terminal')
          return
        }
        await pause(backoff(failures), request.polling.signal)
      }
    }
    if (request.done) return
    if (state.status === 'refused') return void (await fallBack(request, state.refused_reason ?? 'refused'))
    const decision = hookAnswerFor(state, request.tool_input, { approvalId: request.approvalId!, requestId: request.id, kind: request.kind })
    deps.log.info({ request_id: request.id, status: state.status, decided_by: state.decided_by }, decision ? 'the phone answered the permission request' : 'permission request settled elsewhere')
    close(request, decision)
  }

  function begin(event: HookEvent, session: SessionFile, signal: AbortSignal | undefined): Promise<HookDecision | undefined> {
    return new Promise((answer) => {
      const toolInput = isRecord(event.tool_input) ? event.tool_input : {}
      const toolName = event.tool_name ?? 'unknown'
      const request: OpenRequest = {
        id: randomUUID(),
        kind: toolName === 'AskUserQuestion' && questionsOf(toolInput).length > 0 ? 'question' : 'permission',
        tool_name: toolName,
        tool_input: toolInput,
        summary: summarizeToolInput(toolName, toolInput),
        cwd: event.cwd,
        askedAt: now(),
        session: { server_url: session.server_url, monitoring_id: session.monitoring_id, session_token: session.session_token },
        phase: 'clock',
        done: false,
        timers: [],
        polling: new AbortController(),
        answer,
      }
      open.set(request.id, request)
      deps.log.debug({ request_id: request.id, tool_name: toolName, kind: request.kind }, 'permission request open')
      // Claude Code kills the hook at its timeout (or exits): the dialog stays, nobody decided.
      if (signal?.aborted) return end(request, { decided_by: 'timeout', evidence: 'hook ended', decision: 'unknown' })
      signal?.addEventListener('abort', () => end(request, { decided_by: 'timeout', evidence: 'hook ended', decision: 'unknown' }), { once: true })
      request.timers.push(
        timers.setTimeout(() => void ring(request).catch((e) => deps.log.error({ err: e, request_id: request.id }, 'approval request failed')), deps.thresholdMs),
        timers.setTimeout(() => end(request, { decided_by: 'timeout', evidence: 'hook timeout', decision: 'unknown' }), deps.hookTimeoutMs ?? PERMISSION_HOOK_TIMEOUT_MS),
      )
    })
  }

  return {
    /**
     * Every hook event of the session. A PermissionRequest with approvals on resolves with the phone's
     * decision, or undefined when the request ended otherwise; other events may end open requests.
     */
    handleHook(event: HookEvent, signal?: AbortSignal): Promise<HookDecision | undefined> {
      if (event.hook_event_name === 'PermissionRequest') {
        const session = deps.session()
        // Approvals off: nothing to hold the dialog for; the waiting clock texts what Claude wants.
        if (!session?.approvals) return Promise.resolve(undefined)
        return begin(event, session, signal)
      }
      for (const request of [...open.values()]) {
        const how = settlementOf(event, request)
        if (how) end(request, how)
      }
      return Promise.resolve(undefined)
    },

    /** The session is over (sms_stop, SessionEnd, exit): settle every open request before its token dies. */
    async endAll(deadlineMs = 2_000): Promise<void> {
      for (const request of [...open.values()]) end(request, { decided_by: 'session_end', evidence: 'monitoring ended', decision: 'unknown' })
      await Promise.race([Promise.allSettled([...settling]), pause(deadlineMs)])
    },

    /** How many permission requests wait for an answer (sms_status). */
    openCount: () => open.size,
  }
}

export type Approvals = ReturnType<typeof createApprovals>
