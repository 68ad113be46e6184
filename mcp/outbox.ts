import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { z } from 'zod'
import { EventType, type EventRequest, type EventResponse, type StopResponse } from '../contract/api.js'
import { ServerRejected, ServerUnreachable, type Api } from './api.js'
import type { Logger } from './log.js'
import { listJson, readJson, removeFile, writeJsonAtomic } from './store.js'
import { systemTimers, type Timers } from './timers.js'

/**
 * The durable outbox (DESIGN §6): every event, and the final stop of a monitoring session, is a file
 * under ~/.config/claude-sms-notifier/outbox/ before anything is sent. It is per user, not per
 * session: any MCP server process of this user sends what a dead one left behind. Entries of one
 * monitoring session go out in order (a stop must not overtake the events before it, since it kills
 * the session token). Retrying is safe because the server answers a repeated event_id with its
 * first answer and never texts twice.
 */

export const OutboxEntry = z.object({
  id: z.string(),
  kind: z.enum(['event', 'stop']),
  event_type: EventType.optional(),
  server_url: z.string(),
  monitoring_id: z.string(),
  session_token: z.string(),
  claude_session_id: z.string(),
  body: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  attempts: z.number().int(),
  next_attempt_at: z.string(),
})
export type OutboxEntry = z.infer<typeof OutboxEntry>

export type Delivery =
  | { outcome: 'delivered'; answer: EventResponse | z.infer<typeof StopResponse> | null }
  | { outcome: 'retry'; reason: string; retryAfterMs?: number }
  /** The server will never take it (session gone, bad request): kept would only block the queue. */
  | { outcome: 'rejected'; reason: string; status: number }

export interface RetryPolicy {
  baseMs: number
  capMs: number
  /** Attempts per process; after that the entry waits for the next successful heartbeat or process. */
  maxAttempts: number
  /** Entries older than this are given up. */
  maxAgeMs: number
}

export const defaultRetryPolicy = (baseMs: number): RetryPolicy => ({ baseMs, capMs: 5 * 60_000, maxAttempts: 10, maxAgeMs: 24 * 3_600_000 })

/** Exponential backoff with jitter (0.5x to 1.5x) so many plugins do not retry in lock-step. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const exponential = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(exponential * (0.5 + random()))
}

/** How the server's answer to one send counts (pure). */
export function classify(error: unknown): Delivery {
  if (error instanceof ServerUnreachable) return { outcome: 'retry', reason: error.message }
  if (error instanceof ServerRejected) {
    // 409: the server is still handling this event_id, or its first handler died mid-way and the
    // event becomes reclaimable shortly (server/sms/notifier.ts). Dropping it would lose the event.
    if (error.status >= 500 || error.status === 408 || error.status === 409 || error.status === 429) return { outcome: 'retry', reason: `${error.status} ${error.code}`, retryAfterMs: error.retryAfterMs }
    return { outcome: 'rejected', reason: `${error.status} ${error.code}: ${error.message}`, status: error.status }
  }
  return { outcome: 'retry', reason: (error as Error)?.message ?? String(error) }
}

export interface OutboxDeps {
  dir: string
  api: Api
  log: Logger
  now?: () => Date
  retry: RetryPolicy
  random?: () => number
  /** Told about every entry that left the outbox, delivered or rejected. */
  onSettled?: (entry: OutboxEntry, delivery: Delivery) => void | Promise<void>
  timers?: Pick<Timers, 'setTimeout' | 'clearTimeout'>
}

export interface FlushReport {
  settled: Map<string, Delivery>
  remaining: number
}

export type NewEntry = Pick<OutboxEntry, 'server_url' | 'monitoring_id' | 'session_token' | 'claude_session_id'> &
  ({ kind: 'event'; request: Omit<EventRequest, 'event_id'> } | { kind: 'stop'; request: { reason: string; final_state?: string; ended_at: string } })

export function createOutbox(deps: OutboxDeps) {
  const now = deps.now ?? (() => new Date())
  const timers = deps.timers ?? systemTimers
  let seq = 0
  let timer: unknown
  let closed = false
  // One flush at a time in this process; a flush asked for meanwhile runs right after.
  let running: Promise<FlushReport> | undefined
  /** Attempts made by this process, per entry (the file's count is across processes). */
  const attemptsHere = new Map<string, number>()
  /** Recent outcomes by entry id, whichever flush settled them (a tool may wait on another's flush). */
  const outcomes = new Map<string, Delivery>()
  /** Entries dropped while a send of theirs may be in flight: a failed send must not write them back. */
  const dropped = new Set<string>()

  const fileOf = (name: string) => join(deps.dir, name)

  async function add(entry: NewEntry): Promise<OutboxEntry> {
    const id = randomUUID()
    const at = now()
    const body = entry.kind === 'event' ? { ...entry.request, event_id: id } : entry.request
    const stored: OutboxEntry = {
      id,
      kind: entry.kind,
      ...(entry.kind === 'event' ? { event_type: entry.request.event_type } : {}),
      server_url: entry.server_url,
      monitoring_id: entry.monitoring_id,
      session_token: entry.session_token,
      claude_session_id: entry.claude_session_id,
      body,
      created_at: at.toISOString(),
      attempts: 0,
      next_attempt_at: at.toISOString(),
    }
    // The name sorts by creation time, so a directory listing is the sending order.
    const name = `${String(at.getTime()).padStart(15, '0')}-${String(seq++).padStart(6, '0')}-${process.pid}-${id}.json`
    await writeJsonAtomic(fileOf(name), stored)
    return stored
  }

  async function entries(): Promise<{ name: string; entry: OutboxEntry }[]> {
    const out: { name: string; entry: OutboxEntry }[] = []
    for (const name of await listJson(deps.dir)) {
      const entry = await readJson(fileOf(name), OutboxEntry)
      if (entry) out.push({ name, entry })
    }
    return out
  }

  /** Deletes the queued "waiting" events of a monitoring session: the wait ended before they went out. */
  async function dropWaiting(monitoringId: string): Promise<number> {
    let count = 0
    for (const { name, entry } of await entries()) {
      if (entry.monitoring_id === monitoringId && entry.kind === 'event' && entry.event_type === 'waiting') {
        dropped.add(entry.id)
        await removeFile(fileOf(name))
        count++
      }
    }
    if (count) deps.log.info({ monitoring_id: monitoringId, dropped: count }, 'dropped queued waiting events: the person answered')
    return count
  }

  async function deliver(entry: OutboxEntry, timeoutMs: number): Promise<Delivery> {
    try {
      if (entry.kind === 'event') {
        const answer = await deps.api.sendEvent(entry.server_url, entry.monitoring_id, entry.session_token, entry.body as EventRequest, timeoutMs)
        return { outcome: 'delivered', answer }
      }
      const answer = await deps.api.stopSession(entry.server_url, entry.monitoring_id, entry.session_token, entry.body as { reason: string; ended_at: string }, timeoutMs)
      return { outcome: 'delivered', answer }
    } catch (error) {
      const delivery = classify(error)
      // A stop repeated after the first one got through finds the token already dead: it is done.
      if (entry.kind === 'stop' && delivery.outcome === 'rejected' && (delivery.status === 401 || delivery.status === 404)) return { outcome: 'delivered', answer: null }
      return delivery
    }
  }

  async function flushOnce(force: boolean, deadlineMs: number | undefined): Promise<FlushReport> {
    const started = Date.now()
    const left = () => (deadlineMs === undefined ? 10_000 : Math.max(1, deadlineMs - (Date.now() - started)))
    const settled = new Map<string, Delivery>()
    const groups = new Map<string, { name: string; entry: OutboxEntry }[]>()
    for (const item of await entries()) {
      const group = groups.get(item.entry.monitoring_id) ?? []
      group.push(item)
      groups.set(item.entry.monitoring_id, group)
    }
    let remaining = 0
    await Promise.all(
      [...groups.values()].map(async (group) => {
        for (let i = 0; i < group.length; i++) {
          const { name, entry } = group[i]!
          const t = now()
          if (t.getTime() - Date.parse(entry.created_at) > deps.retry.maxAgeMs) {
            deps.log.warn({ event_id: entry.id, kind: entry.kind }, 'gave up an outbox entry older than its maximum age')
            await removeFile(fileOf(name))
            continue
          }
          const triesHere = attemptsHere.get(entry.id) ?? 0
          const due = force || (Date.parse(entry.next_attempt_at) <= t.getTime() && triesHere < deps.retry.maxAttempts)
          if (!due || left() <= 1) {
            remaining += group.length - i
            return
          }
          const delivery = await deliver(entry, Math.min(10_000, left()))
          if (delivery.outcome === 'retry') {
            const attempts = entry.attempts + 1
            attemptsHere.set(entry.id, triesHere + 1)
            const wait = Math.max(backoffMs(attempts, deps.retry, deps.random), delivery.retryAfterMs ?? 0)
            // The file may be gone meanwhile (sent by another process, or a dropped waiting event).
            if (!dropped.has(entry.id) && (await readJson(fileOf(name), OutboxEntry)) !== undefined) {
              await writeJsonAtomic(fileOf(name), { ...entry, attempts, next_attempt_at: new Date(now().getTime() + wait).toISOString() })
            }
            deps.log.info({ event_id: entry.id, kind: entry.kind, attempts, retry_in_ms: wait, reason: delivery.reason }, 'outbox send failed; will retry')
            remaining += group.length - i
            return // keep this session's order
          }
          await removeFile(fileOf(name))
          attemptsHere.delete(entry.id)
          settled.set(entry.id, delivery)
          outcomes.set(entry.id, delivery)
          if (outcomes.size > 200) outcomes.delete(outcomes.keys().next().value!)
          if (delivery.outcome === 'rejected') deps.log.warn({ event_id: entry.id, kind: entry.kind, reason: delivery.reason }, 'the server refused an outbox entry; dropped')
          else deps.log.info({ event_id: entry.id, kind: entry.kind, event_type: entry.event_type }, 'outbox entry delivered')
          await deps.onSettled?.(entry, delivery)
        }
      }),
    )
    return { settled, remaining }
  }

  async function schedule(): Promise<void> {
    if (timer) timers.clearTimeout(timer)
    timer = undefined
    if (closed) return
    let next = Infinity
    for (const { entry } of await entries()) {
      if ((attemptsHere.get(entry.id) ?? 0) >= deps.retry.maxAttempts) continue
      next = Math.min(next, Date.parse(entry.next_attempt_at))
    }
    if (next === Infinity) return
    timer = timers.setTimeout(() => void flush().catch((e) => deps.log.error({ err: e }, 'outbox flush failed')), Math.max(0, next - now().getTime()))
  }

  /**
   * Sends what is due, in order per monitoring session. `force` ignores backoff (the server just
   * proved reachable); `deadlineMs` bounds the whole flush (shutdown has about a second).
   */
  async function flush(opts: { force?: boolean; deadlineMs?: number } = {}): Promise<FlushReport> {
    const started = Date.now()
    while (running) {
      if (opts.deadlineMs === undefined) await running.catch(() => undefined)
      else {
        const left = opts.deadlineMs - (Date.now() - started)
        if (left <= 0) return { settled: new Map(), remaining: (await entries()).length }
        await Promise.race([running.catch(() => undefined), new Promise((r) => timers.setTimeout(() => r(undefined), left))])
      }
    }
    if (opts.deadlineMs !== undefined) opts = { ...opts, deadlineMs: Math.max(1, opts.deadlineMs - (Date.now() - started)) }
    running = (async () => {
      try {
        const report = await flushOnce(!!opts.force, opts.deadlineMs)
        await schedule()
        return report
      } finally {
        running = undefined
      }
    })()
    return running
  }

  return {
    add,
    dropWaiting,
    flush,
    /** How an entry left the outbox, if it did while this process watched. */
    outcomeOf: (id: string): Delivery | undefined => outcomes.get(id),
    /** What is still queued, oldest first. */
    pending: async () => (await entries()).map((e) => e.entry),
    close() {
      closed = true
      if (timer) timers.clearTimeout(timer)
      timer = undefined
    },
  }
}

export type Outbox = ReturnType<typeof createOutbox>
