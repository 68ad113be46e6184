import { EventEmitter } from 'node:events'
import type { Sql } from 'postgres'
import { z } from 'zod'
import type { Logger } from './log.js'

/**
 * "Something about this monitoring session changed": published by the monitoring code (an event, a
 * heartbeat, a stale mark, a stop, a delivery receipt), consumed by the dashboard's live pages. It carries
 * ids only; pages read the current state from the database, so a lost or repeated update does no harm.
 */
export const SessionUpdate = z.object({
  userId: z.string().min(1).max(100),
  monitoringId: z.string().max(100).nullable(),
  // signed_out: a dashboard sign-in or a pairing of this user ended; live streams check their own sign-in.
  kind: z.enum(['started', 'event', 'heartbeat', 'stale', 'stopped', 'sms_status', 'settings', 'approval', 'call', 'signed_out']),
})
export type SessionUpdate = z.infer<typeof SessionUpdate>

export interface SessionUpdates {
  /** Fire and forget: never throws, never waits for the database. */
  publish(update: SessionUpdate): void
  /** Calls `listener` for every update of this user's sessions; returns the unsubscribe function. */
  subscribe(userId: string, listener: (update: SessionUpdate) => void): () => void
  /** Resolves once updates published from now on will be received (the LISTEN is in place). */
  ready(): Promise<void>
  /** Server shutdown: open live streams end now instead of holding the HTTP server open. */
  close(): void
  /** Called on close(); returns the function that removes the callback. */
  onClose(callback: () => void): () => void
}

const CHANNEL = 'claude_sms_session_updates'
const MAX_NOTIFY_BATCH = 1_000

const CLOSE = Symbol('close')

function localHub(): { emitter: EventEmitter } & Pick<SessionUpdates, 'subscribe' | 'close' | 'onClose'> {
  const emitter = new EventEmitter()
  // One listener per open dashboard tab; the default limit of 10 is a leak warning, not a real limit.
  emitter.setMaxListeners(0)
  return {
    emitter,
    subscribe(userId, listener) {
      emitter.on(userId, listener)
      return () => emitter.off(userId, listener)
    },
    close: () => void emitter.emit(CLOSE),
    onClose(callback) {
      emitter.on(CLOSE, callback)
      return () => emitter.off(CLOSE, callback)
    },
  }
}

/** One process only: updates go straight from publisher to subscribers. */
export function createLocalSessionUpdates(): SessionUpdates {
  const hub = localHub()
  return {
    publish: (update) => void hub.emitter.emit(update.userId, update),
    subscribe: hub.subscribe,
    ready: () => Promise.resolve(),
    close: hub.close,
    onClose: hub.onClose,
  }
}

/**
 * Every server process on the same database sees every update: publish is a NOTIFY, and each process
 * LISTENs on one dedicated connection (postgres.js reconnects and re-listens by itself) and hands what
 * arrives to its own subscribers. If the LISTEN cannot be set up (a transaction-mode pooler refuses it),
 * updates stay within this process and the log says so; pages still show the truth on reload.
 */
export function createPostgresSessionUpdates(sql: Sql, log: Logger): SessionUpdates {
  const hub = localHub()
  let listening = false
  let started: Promise<void> | undefined
  const start = () =>
    (started ??= sql
      .listen(CHANNEL, (payload) => {
        const parsed = SessionUpdate.safeParse(safeJson(payload))
        if (parsed.success) hub.emitter.emit(parsed.data.userId, parsed.data)
      })
      .then(
        () => {
          listening = true
        },
        (err: unknown) => {
          log.warn({ err }, 'LISTEN for live dashboard updates failed: updates reach only pages served by this process')
        },
      ))

  // Updates waiting for the next NOTIFY transaction, and whether they were published while our LISTEN was in place.
  const pending: { update: SessionUpdate; viaListen: boolean }[] = []
  let flushing = false

  /**
   * Sends what is pending in one transaction (one pg_notify per distinct update), one transaction at
   * a time. PostgreSQL serialises the commits of every transaction that notifies (a global lock held
   * through the commit's WAL flush): a NOTIFY per heartbeat or event, in its own statement or in the
   * request's, caps a whole deployment at a few hundred commits a second. Batched here, each process
   * has at most one such commit in flight, whatever its load.
   */
  async function flush() {
    if (flushing || pending.length === 0) return
    flushing = true
    const batch = pending.splice(0, MAX_NOTIFY_BATCH)
    const payloads = [...new Set(batch.map((p) => JSON.stringify(p.update)))]
    try {
      await sql`select pg_notify(${CHANNEL}, p) from unnest(${sql.array(payloads, 25)}::text[]) p`
    } catch (err) {
      log.warn({ err }, 'NOTIFY for live dashboard updates failed; only pages served by this process see them')
      for (const p of batch) if (p.viaListen) hub.emitter.emit(p.update.userId, p.update)
    } finally {
      flushing = false
      if (pending.length) setImmediate(() => void flush())
    }
  }

  return {
    publish(update) {
      // Once our LISTEN is in place it delivers our own NOTIFY back to us, so local subscribers hear it
      // through that; before, they hear it directly (a rare double delivery only costs a page refresh).
      const viaListen = listening
      if (!viaListen) hub.emitter.emit(update.userId, update)
      pending.push({ update, viaListen })
      if (pending.length === 1 && !flushing) setImmediate(() => void flush())
    },
    subscribe(userId, listener) {
      void start()
      return hub.subscribe(userId, listener)
    },
    ready: () => start(),
    close: hub.close,
    onClose: hub.onClose,
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
