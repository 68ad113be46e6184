import { z } from 'zod'
import type { EventType } from '../contract/api.js'
import { clip, permissionText, summarizeToolInput, type Permission } from './approvals.js'
import type { ClockState } from './store.js'

/**
 * What a Claude Code hook event means for the person's phone (DESIGN §4), as pure functions of
 * (event, clock state, now). The monitor applies the actions; nothing here touches disk or network.
 */

// Hook payload fields (Claude Code hooks reference). A field of an unexpected type is dropped rather
// than the whole event: a newer Claude Code must not silence the errors we do understand.
const text = z.string().optional().catch(undefined)
export const HookEvent = z
  .object({
    hook_event_name: z.string().min(1).max(100),
    session_id: text,
    cwd: text,
    tool_name: text,
    error: text,
    error_details: text,
    is_interrupt: z.boolean().optional().catch(undefined),
    message: text,
    title: text,
    notification_type: text,
    last_assistant_message: text,
    reason: text,
  })
  .loose()
export type HookEvent = z.infer<typeof HookEvent>

export interface Thresholds {
  inactivityMs: number
  doneMs: number
}

export type EventDetails = {
  hook_event_name: string
  cwd?: string
  tool_name?: string
  error?: string
  message?: string
  notification_type?: string
  reason?: string
  turn_duration_ms?: number
  idle_ms?: number
  /** A wait on a permission request: the tool and what it would do (redacted, clipped). */
  permission_tool?: string
  permission_summary?: string
}

export type Action =
  | { type: 'send'; event_type: EventType; details: EventDetails }
  /** The person is back: a queued "waiting" text must not go out late. */
  | { type: 'drop_waiting' }
  | { type: 'end_monitoring'; reason: string }

export interface Decision {
  state: ClockState
  actions: Action[]
}

export const idleClock: ClockState = { turn_started_at: null, waiting: null }

const ERROR_CHARS = 300
const MESSAGE_CHARS = 500

/** The first line of an error; Bash's bare "Exit code N" first line gets the line that says why. */
function firstLine(value: string | undefined): string | undefined {
  const lines = (value ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
  const first = lines[0]
  if (!first) return undefined
  return clip(/^exit code \d+$/i.test(first) && lines[1] ? `${first}: ${lines[1]}` : first, ERROR_CHARS)
}

function base(event: HookEvent): EventDetails {
  return { hook_event_name: event.hook_event_name, ...(event.cwd ? { cwd: event.cwd } : {}) }
}

// Hook events that only fire while Claude is working on its own (after a permission was granted,
// say): they prove nobody is waiting on the person any more.
const WORKING_EVENTS = new Set(['PreToolUse', 'PostToolUse', 'PostToolBatch', 'SubagentStart', 'SubagentStop', 'PermissionDenied'])

export function onHookEvent(event: HookEvent, state: ClockState, now: Date, thresholds: Thresholds): Decision {
  const at = now.toISOString()
  switch (event.hook_event_name) {
    case 'UserPromptSubmit':
      return { state: { turn_started_at: at, waiting: null }, actions: state.waiting ? [{ type: 'drop_waiting' }] : [] }

    case 'PostToolUseFailure': {
      // Esc pressed by the person is not a failure worth a text.
      if (event.is_interrupt) return workingAgain(state)
      const details: EventDetails = { ...base(event), ...(event.tool_name ? { tool_name: event.tool_name } : {}), error: firstLine(event.error) ?? 'The tool failed without a message' }
      const working = workingAgain(state)
      return { state: working.state, actions: [...working.actions, { type: 'send', event_type: 'error', details }] }
    }

    case 'PermissionRequest': {
      // Claude Code's dialog is on screen: the waiting clock runs from now, and its text says what for.
      const permission: Permission = { tool_name: event.tool_name ?? 'a tool', summary: summarizeToolInput(event.tool_name, event.tool_input) }
      const since = state.waiting && !state.waiting.sent ? state.waiting.since : at
      return { state: { ...state, waiting: { since, text: permissionText(permission), notification_type: 'permission_request', sent: false, permission } }, actions: [] }
    }

    case 'StopFailure': {
      // The turn ended on an API error (rate_limit, overloaded, ...): error_details is the readable part.
      const error = firstLine([event.error, event.error_details].filter(Boolean).join(': ')) ?? firstLine(event.last_assistant_message) ?? 'Claude stopped on an API error'
      return { state: { turn_started_at: null, waiting: null }, actions: [{ type: 'send', event_type: 'error', details: { ...base(event), error } }] }
    }

    case 'Stop': {
      const actions: Action[] = []
      const lastMessage = event.last_assistant_message?.trim() ? clip(event.last_assistant_message, MESSAGE_CHARS) : null
      const turnMs = state.turn_started_at ? now.getTime() - Date.parse(state.turn_started_at) : null
      if (turnMs !== null && turnMs >= thresholds.doneMs) {
        actions.push({ type: 'send', event_type: 'done', details: { ...base(event), ...(lastMessage ? { message: lastMessage } : {}), turn_duration_ms: turnMs } })
      }
      const waiting = state.waiting && !state.waiting.sent ? { ...state.waiting, text: lastMessage ?? state.waiting.text } : { since: at, text: lastMessage, notification_type: null, sent: false }
      return { state: { turn_started_at: null, waiting }, actions }
    }

    case 'Notification': {
      const question = event.message?.trim() ? clip(event.message, MESSAGE_CHARS) : null
      // Claude Code's "Claude needs your permission to use Bash" says less than the request itself.
      if (state.waiting?.permission) return { state, actions: [] }
      if (state.waiting) {
        // Already waiting (e.g. the idle_prompt reminder after a Stop): keep the clock running from the
        // first moment; a generic idle reminder does not replace Claude's own last words.
        const keepText = event.notification_type === 'idle_prompt' && state.waiting.text
        return {
          state: { ...state, waiting: { ...state.waiting, text: keepText ? state.waiting.text : (question ?? state.waiting.text), notification_type: event.notification_type ?? state.waiting.notification_type } },
          actions: [],
        }
      }
      return { state: { ...state, waiting: { since: at, text: question, notification_type: event.notification_type ?? null, sent: false } }, actions: [] }
    }

    case 'SessionEnd':
      return {
        state: idleClock,
        actions: [
          ...(state.waiting ? [{ type: 'drop_waiting' } as const] : []),
          { type: 'send', event_type: 'done', details: { ...base(event), reason: event.reason ?? 'other', message: 'Session ended' } },
          { type: 'end_monitoring', reason: `session_end:${event.reason ?? 'other'}` },
        ],
      }

    default:
      if (WORKING_EVENTS.has(event.hook_event_name)) return workingAgain(state)
      return { state, actions: [] }
  }
}

/**
 * Claude is working again (a permission was granted or refused): a wait begun by a Notification is
 * over, and so is a permission request's wait, even when its text went out (a queued one is dropped).
 */
function workingAgain(state: ClockState): Decision {
  if (state.waiting?.permission) return { state: { ...state, waiting: null }, actions: state.waiting.sent ? [{ type: 'drop_waiting' }] : [] }
  return { state: state.waiting && !state.waiting.sent ? { ...state, waiting: null } : state, actions: [] }
}

/** The details of a "waiting" event about a permission request (approvals off, or refused). */
export function permissionWaitingDetails(permission: Permission, idleMs: number): EventDetails {
  return {
    hook_event_name: 'WaitingClock',
    message: permissionText(permission),
    notification_type: 'permission_request',
    permission_tool: permission.tool_name,
    permission_summary: permission.summary,
    idle_ms: idleMs,
  }
}

/** When the waiting clock should next ring, or null when nobody is being waited for. */
export function waitingDueAt(state: ClockState, thresholds: Thresholds): number | null {
  if (!state.waiting || state.waiting.sent) return null
  return Date.parse(state.waiting.since) + thresholds.inactivityMs
}

/**
 * The waiting clock rang: if the wait is still on and long enough, one "waiting" text. With approvals
 * by text on, a permission request's wait is texted as an approval request instead (mcp/approvals.ts).
 */
export function onWaitingClock(state: ClockState, now: Date, thresholds: Thresholds, opts: { approvals?: boolean } = {}): Decision {
  const due = waitingDueAt(state, thresholds)
  if (due === null || now.getTime() < due || !state.waiting) return { state, actions: [] }
  const idleMs = now.getTime() - Date.parse(state.waiting.since)
  const sent = { ...state, waiting: { ...state.waiting, sent: true } }
  if (state.waiting.permission) {
    if (opts.approvals) return { state: sent, actions: [] }
    return { state: sent, actions: [{ type: 'send', event_type: 'waiting', details: permissionWaitingDetails(state.waiting.permission, idleMs) }] }
  }
  const details: EventDetails = {
    hook_event_name: 'WaitingClock',
    message: state.waiting.text ?? 'Claude is waiting for your input',
    ...(state.waiting.notification_type ? { notification_type: state.waiting.notification_type } : {}),
  }
  return { state: { ...state, waiting: { ...state.waiting, sent: true } }, actions: [{ type: 'send', event_type: 'waiting', details: { ...details, idle_ms: idleMs } }] }
}
