import { ServerRejected } from './api.js'
import type { Api } from './api.js'
import type { Permission } from './approvals.js'
import { idleClock, onHookEvent, onWaitingClock, permissionWaitingDetails, waitingDueAt, type Action, type HookEvent, type Thresholds } from './events.js'
import type { Logger } from './log.js'
import type { Delivery, Outbox, OutboxEntry } from './outbox.js'
import { readJson, removeFile, SessionFile, sessionFilePath, writeJsonAtomic, type StorePaths } from './store.js'
import { systemTimers, type Timers } from './timers.js'

export interface MonitorDeps {
  paths: StorePaths
  api: Api
  outbox: Outbox
  log: Logger
  claudeSessionId: string
  heartbeatIntervalMs: number
  thresholds: Thresholds
  now?: () => Date
  timers?: Timers
  /** Monitoring is ending (its session token is about to die): settle what still waits on the server. */
  beforeFinish?: () => Promise<void>
}

/**
 * The monitoring of this Claude session: the heartbeat, the waiting clock and the hook events that
 * become texts. Its state lives in sessions/<claude session id>.json so that a new MCP server process
 * for the same session (after a crash or `claude --resume`) carries on without a new sms_start.
 */
export function createMonitor(deps: MonitorDeps) {
  const now = deps.now ?? (() => new Date())
  const timers = deps.timers ?? systemTimers
  const sessionFile = (s: SessionFile) => sessionFilePath(deps.paths, s.claude_session_id)
  let active: SessionFile | undefined
  let heartbeat: unknown
  let waitingTimer: unknown
  const notices: string[] = []
  // Hook events, clock rings and tool calls change the same state: one at a time, in arrival order.
  let queue: Promise<unknown> = Promise.resolve()
  const serially = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job, job)
    queue = run.catch(() => undefined)
    return run
  }

  const persist = async () => {
    if (active) await writeJsonAtomic(sessionFile(active), active)
  }

  function armWaitingClock() {
    if (waitingTimer !== undefined) timers.clearTimeout(waitingTimer)
    waitingTimer = undefined
    if (!active) return
    const due = waitingDueAt(active.clock, deps.thresholds)
    if (due === null) return
    waitingTimer = timers.setTimeout(() => void serially(ringWaitingClock).catch((e) => deps.log.error({ err: e }, 'waiting clock failed')), Math.max(0, due - now().getTime()))
  }

  async function ringWaitingClock() {
    waitingTimer = undefined
    if (!active) return
    const decision = onWaitingClock(active.clock, now(), deps.thresholds, { approvals: active.approvals })
    active.clock = decision.state
    await apply(decision.actions)
    await persist()
    armWaitingClock()
    kickOutbox()
  }

  /** `counted`: the sends are already in events_queued (and the session file). */
  async function apply(actions: Action[], opts: { counted?: boolean } = {}) {
    for (const action of actions) {
      if (!active) return
      if (action.type === 'send') {
        await deps.outbox.add({
          kind: 'event',
          server_url: active.server_url,
          monitoring_id: active.monitoring_id,
          session_token: active.session_token,
          claude_session_id: active.claude_session_id,
          request: { event_type: action.event_type, timestamp: now().toISOString(), details: action.details },
        })
        if (!opts.counted) active.events_queued++
        deps.log.info({ event_type: action.event_type, hook: action.details.hook_event_name }, 'event queued')
      } else if (action.type === 'drop_waiting') {
        await deps.outbox.dropWaiting(active.monitoring_id)
      } else {
        await finish(action.reason)
      }
    }
  }

  const kickOutbox = () => void deps.outbox.flush().catch((e) => deps.log.error({ err: e }, 'outbox flush failed'))

  async function beat() {
    const session = active
    if (!session) return
    try {
      await deps.api.heartbeat(session.server_url, session.monitoring_id, session.session_token, { timestamp: now().toISOString(), last_activity: session.last_event?.at ?? null })
      // The server answers: whatever waits in the outbox (from this process or a dead one) can go now.
      void deps.outbox.flush({ force: true }).catch((e) => deps.log.error({ err: e }, 'outbox flush failed'))
    } catch (error) {
      if (error instanceof ServerRejected && (error.status === 401 || error.status === 404) && active === session) {
        deps.log.warn({ status: error.status, code: error.code }, 'the server no longer accepts this monitoring session')
        notices.push(`Monitoring of "${session.description}" ended: the server no longer accepts this session (pairing expired or logged out). Run /sms-notifier:sms-setup if needed, then /sms-notifier:sms-start.`)
        await serially(() => forget())
      } else {
        deps.log.info({ err: error }, 'heartbeat failed; will try again')
      }
    }
  }

  async function run(session: SessionFile) {
    active = session
    await persist()
    if (heartbeat !== undefined) timers.clearInterval(heartbeat)
    heartbeat = timers.setInterval(() => void beat(), deps.heartbeatIntervalMs)
    armWaitingClock()
  }

  /** Stops timers and forgets local state; the server is not told (see finish). */
  async function forget() {
    if (heartbeat !== undefined) timers.clearInterval(heartbeat)
    if (waitingTimer !== undefined) timers.clearTimeout(waitingTimer)
    heartbeat = waitingTimer = undefined
    if (active) await removeFile(sessionFile(active))
    active = undefined
  }

  /** Ends monitoring: the stop report is queued behind this session's events, then local state goes. */
  async function finish(reason: string): Promise<{ stop: OutboxEntry; session: SessionFile } | undefined> {
    const session = active
    if (!session) return undefined
    await deps.beforeFinish?.().catch((e) => deps.log.warn({ err: e }, 'could not settle open permission requests'))
    const stop = await deps.outbox.add({
      kind: 'stop',
      server_url: session.server_url,
      monitoring_id: session.monitoring_id,
      session_token: session.session_token,
      claude_session_id: session.claude_session_id,
      request: { reason, final_state: reason.startsWith('session_end') ? 'completed' : 'stopped', ended_at: now().toISOString() },
    })
    await forget()
    return { stop, session }
  }

  async function resume(claudeSessionId: string): Promise<SessionFile | undefined> {
    if (active) return undefined
    const saved = await readJson(sessionFilePath(deps.paths, claudeSessionId), SessionFile)
    if (!saved || saved.claude_session_id !== claudeSessionId) return undefined
    await run(saved)
    void beat() // tell the server at once that the session is alive again, and send what waits
    notices.push(`Resumed monitoring of "${saved.description}" (since ${saved.started_at}).`)
    deps.log.info({ monitoring_id: saved.monitoring_id }, 'resumed monitoring after a restart')
    return saved
  }

  return {
    claudeSessionId: deps.claudeSessionId,
    current: () => active,
    /** Notices for the person, shown once in the next tool answer ("Resumed monitoring of ..."). */
    takeNotices: () => notices.splice(0),

    /** A monitoring session left by an earlier process for this Claude session, picked up again. */
    resume: (claudeSessionId = deps.claudeSessionId) => serially(() => resume(claudeSessionId)),

    /** Approvals by text could not take this permission request: the ordinary "waiting" text for it. */
    sendPermissionWaiting: (permission: Permission, askedAt: Date) =>
      serially(async () => {
        if (!active) return
        await apply([{ type: 'send', event_type: 'waiting', details: permissionWaitingDetails(permission, Math.max(0, now().getTime() - askedAt.getTime())) }])
        if (active.clock.waiting?.permission) active.clock.waiting.sent = true
        await persist()
        armWaitingClock()
        kickOutbox()
      }),

    begin: (session: Omit<SessionFile, 'texts_sent' | 'events_queued' | 'last_event' | 'clock' | 'approvals' | 'approvals_off_reason'> & Partial<Pick<SessionFile, 'approvals' | 'approvals_off_reason'>>) =>
      serially(() => run({ approvals: false, approvals_off_reason: null, ...session, texts_sent: 0, events_queued: 0, last_event: null, clock: idleClock })),

    stop: (reason: string) => serially(() => finish(reason)),

    /** A hook event from this session's Claude Code; ignored entirely when not monitoring. */
    handleHook: (event: HookEvent) =>
      serially(async () => {
        // After `claude --resume` this process may have been spawned with another session id than the
        // one the hooks carry (Claude Code env-vars reference): the hooks' id finds the session file.
        if (!active && event.session_id && event.session_id !== deps.claudeSessionId) await resume(event.session_id)
        if (!active) return
        const decision = onHookEvent(event, active.clock, now(), deps.thresholds)
        active.clock = decision.state
        active.last_event = { name: event.hook_event_name, at: now().toISOString() }
        const sending = decision.actions.some((a) => a.type === 'send' || a.type === 'end_monitoring')
        // The session file is written once per event, before the outbox entries, with the events
        // they add already counted: a crash between the two loses what a crash between writing the
        // clock and the entries always lost, and saves a write on the way to the hook's answer.
        active.events_queued += decision.actions.filter((a) => a.type === 'send').length
        await persist()
        if (decision.actions.length) await apply(decision.actions, { counted: true })
        armWaitingClock()
        // Sent once the hook's answer is written: the outbox's reads and the request to the server
        // are synchronous work now, which would otherwise come before the answer.
        if (sending) setImmediate(kickOutbox)
      }),

    /** Counts texts in the session file of whichever session the delivered event belonged to. */
    recordDelivery: (entry: OutboxEntry, delivery: Delivery) =>
      serially(async () => {
        if (entry.kind !== 'event' || delivery.outcome !== 'delivered' || !delivery.answer || !('sms_sent' in delivery.answer) || !delivery.answer.sms_sent) return
        if (active?.monitoring_id === entry.monitoring_id) {
          active.texts_sent++
          await persist()
          return
        }
        const file = sessionFilePath(deps.paths, entry.claude_session_id)
        const other = await readJson(file, SessionFile)
        if (other?.monitoring_id === entry.monitoring_id) await writeJsonAtomic(file, { ...other, texts_sent: other.texts_sent + 1 })
      }),

    /** Resolves when every hook event and clock ring so far has been handled. */
    idle: () => queue,

    /** Process exit: timers off, local state kept so the next process resumes. */
    pause() {
      if (heartbeat !== undefined) timers.clearInterval(heartbeat)
      if (waitingTimer !== undefined) timers.clearTimeout(waitingTimer)
      heartbeat = waitingTimer = undefined
    },
  }
}

export type Monitor = ReturnType<typeof createMonitor>
