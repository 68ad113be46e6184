import { describe, expect, it } from 'vitest'
import { HookEvent as HookEventSchema, idleClock, onHookEvent, onWaitingClock, waitingDueAt, type HookEvent } from '../../mcp/events.js'
import type { ClockState } from '../../mcp/store.js'

const thresholds = { inactivityMs: 600_000, doneMs: 300_000 }
const t0 = new Date('2026-01-01T12:00:00Z')
const at = (ms: number) => new Date(t0.getTime() + ms)
const hook = (name: string, fields: Partial<HookEvent> = {}): HookEvent => ({ hook_event_name: name, session_id: 's1', cwd: '/work/app', ...fields })

/** Feeds events in order (each at its offset) and returns the final state and every action. */
function play(steps: [number, HookEvent | 'clock'][], start: ClockState = idleClock) {
  let state = start
  const actions = []
  for (const [ms, event] of steps) {
    const d = event === 'clock' ? onWaitingClock(state, at(ms), thresholds) : onHookEvent(event, state, at(ms), thresholds)
    state = d.state
    actions.push(...d.actions)
  }
  return { state, actions }
}

describe('what a hook event means for the phone', () => {
  it('a failed tool is an error text with the tool and the first line of its error', () => {
    const { actions } = play([[0, hook('PostToolUseFailure', { tool_name: 'Bash', error: '\nExit code 1\nnpm ERR! missing script\nat line 3' })]])
    expect(actions).toEqual([{ type: 'send', event_type: 'error', details: { hook_event_name: 'PostToolUseFailure', cwd: '/work/app', tool_name: 'Bash', error: 'Exit code 1: npm ERR! missing script' } }])
  })

  it('a tool the person interrupted (Esc) is not an error', () => {
    expect(play([[0, hook('PostToolUseFailure', { tool_name: 'Bash', error: 'Interrupted', is_interrupt: true })]]).actions).toEqual([])
  })

  it('an API failure that ends the turn is an error text', () => {
    const { actions } = play([[0, hook('StopFailure', { error: 'rate_limit', error_details: '429 Too Many Requests' })]])
    expect(actions).toMatchObject([{ type: 'send', event_type: 'error', details: { error: 'rate_limit: 429 Too Many Requests' } }])
  })

  it('a short turn that stops sends nothing at once, and a waiting text with Claude\'s last words after 10 quiet minutes', () => {
    const { actions, state } = play([
      [0, hook('UserPromptSubmit')],
      [60_000, hook('Stop', { last_assistant_message: 'Should I also update the migrations?' })],
      [60_000 + 599_999, 'clock'],
    ])
    expect(actions).toEqual([])
    expect(waitingDueAt(state, thresholds)).toBe(at(660_000).getTime())
    const rang = onWaitingClock(state, at(660_000), thresholds)
    expect(rang.actions).toMatchObject([{ type: 'send', event_type: 'waiting', details: { message: 'Should I also update the migrations?', idle_ms: 600_000 } }])
    // One text per wait: the clock ringing again sends nothing more.
    expect(onWaitingClock(rang.state, at(2_000_000), thresholds).actions).toEqual([])
  })

  it('a permission question starts the wait and its text is the one sent', () => {
    const { actions } = play([
      [0, hook('UserPromptSubmit')],
      [5_000, hook('Notification', { message: 'Claude needs your permission to use Bash', notification_type: 'permission_prompt' })],
      [605_000, 'clock'],
    ])
    expect(actions).toMatchObject([{ type: 'send', event_type: 'waiting', details: { message: 'Claude needs your permission to use Bash', notification_type: 'permission_prompt' } }])
  })

  it('the idle reminder after a Stop neither restarts the clock nor replaces Claude\'s question', () => {
    const { state } = play([
      [0, hook('Stop', { last_assistant_message: 'Which branch?' })],
      [60_000, hook('Notification', { message: 'Claude is waiting for your input', notification_type: 'idle_prompt' })],
    ])
    expect(state.waiting).toMatchObject({ since: at(0).toISOString(), text: 'Which branch?' })
  })

  it('the person answering cancels the wait and drops a queued waiting text', () => {
    const { actions, state } = play([
      [0, hook('Stop', { last_assistant_message: 'Done?' })],
      [600_000, 'clock'],
      [601_000, hook('UserPromptSubmit')],
    ])
    expect(actions.map((a) => a.type)).toEqual(['send', 'drop_waiting'])
    expect(state.waiting).toBeNull()
    expect(state.turn_started_at).toBe(at(601_000).toISOString())
  })

  it('a long autonomous turn is never "waiting": no clock runs while Claude works', () => {
    const steps: [number, HookEvent | 'clock'][] = [[0, hook('UserPromptSubmit')]]
    for (let m = 1; m <= 60; m++) steps.push([m * 60_000, hook('PostToolUse', { tool_name: 'Edit' })], [m * 60_000 + 1, 'clock'])
    const { actions, state } = play(steps)
    expect(actions).toEqual([])
    expect(waitingDueAt(state, thresholds)).toBeNull()
  })

  it('Claude working again after a permission was granted ends that wait', () => {
    const { actions } = play([
      [0, hook('UserPromptSubmit')],
      [5_000, hook('Notification', { message: 'Claude needs your permission', notification_type: 'permission_prompt' })],
      [20_000, hook('PostToolUse', { tool_name: 'Bash' })],
      [700_000, 'clock'],
    ])
    expect(actions).toEqual([])
  })

  it('a turn longer than the done threshold ends with a done text; a shorter one does not', () => {
    const long = play([
      [0, hook('UserPromptSubmit')],
      [300_000, hook('Stop', { last_assistant_message: 'All 42 tests pass.' })],
    ])
    expect(long.actions).toEqual([{ type: 'send', event_type: 'done', details: { hook_event_name: 'Stop', cwd: '/work/app', message: 'All 42 tests pass.', turn_duration_ms: 300_000 } }])
    expect(play([[0, hook('UserPromptSubmit')], [299_999, hook('Stop')]]).actions).toEqual([])
    // A Stop without a known turn start (monitoring began mid-turn) is not a done.
    expect(play([[0, hook('Stop')]]).actions).toEqual([])
  })

  it('the session ending is a done text and the end of monitoring', () => {
    const { actions } = play([[0, hook('SessionEnd', { reason: 'prompt_input_exit' })]])
    expect(actions).toMatchObject([
      { type: 'send', event_type: 'done', details: { reason: 'prompt_input_exit' } },
      { type: 'end_monitoring', reason: 'session_end:prompt_input_exit' },
    ])
  })

  it('unknown events and fields of an unexpected type change nothing and break nothing', () => {
    expect(play([[0, hook('FileChanged')]]).actions).toEqual([])
    const parsed = HookEventSchema.parse({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'boom', cwd: 42, is_interrupt: 'no' })
    expect(play([[0, parsed]]).actions).toEqual([{ type: 'send', event_type: 'error', details: { hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'boom' } }])
  })
})

describe('a permission request (the PermissionRequest hook)', () => {
  const request = hook('PermissionRequest', { tool_name: 'Bash', tool_input: { command: 'terraform apply -var db_password=hunter2hunter2' } })

  it('approvals off: after 10 quiet minutes the waiting text says which tool and what it would do, secrets redacted', () => {
    const { actions } = play([
      [0, request],
      [6_000, hook('Notification', { message: 'Claude needs your permission to use Bash', notification_type: 'permission_prompt' })],
      [600_000, 'clock'],
    ])
    expect(actions).toEqual([
      {
        type: 'send',
        event_type: 'waiting',
        details: {
          hook_event_name: 'WaitingClock',
          message: 'Claude needs your permission to use Bash: terraform apply -var db_password=***',
          notification_type: 'permission_request',
          permission_tool: 'Bash',
          permission_summary: 'terraform apply -var db_password=***',
          idle_ms: 600_000,
        },
      },
    ])
  })

  it('approvals on: the clock sends no waiting text (the approval request replaces it)', () => {
    const started = onHookEvent(request, idleClock, at(0), thresholds).state
    expect(onWaitingClock(started, at(600_000), thresholds, { approvals: true }).actions).toEqual([])
  })

  it('answered at the terminal: the wait ends, and a waiting text still queued is dropped', () => {
    expect(play([[0, request], [5_000, hook('PostToolUse', { tool_name: 'Bash' })], [600_000, 'clock']]).actions).toEqual([])
    expect(play([[0, request], [600_000, 'clock'], [700_000, hook('PostToolUse', { tool_name: 'Bash' })]]).actions.at(-1)).toEqual({ type: 'drop_waiting' })
  })
})
