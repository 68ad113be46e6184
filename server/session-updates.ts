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
  kind: z.enum(['started', 'event', 'heartbeat', 'stale', 'stopped', 'sms_status', 'settings']),
})
export type SessionUpdate = z.infer<typeof SessionUpdate>

export interface SessionUpdates {
  /** Fire and forget: never throws, never waits for the database. */
  publish(update: SessionUpdate): void
  /**
   * The NOTIFY channel when updates travel through PostgreSQL (null when they stay in this process).
   * A statement that changes a session may then send its update itself, with pg_notify(channel,
   * updatePayloadSql(...)) in the same statement: no round trip or commit of its own. After such a
   * statement succeeded, call `sent(update)` (it reaches this process's subscribers while the LISTEN
   * is not in place yet); with no channel, `sent` is publish.
   */
  readonly channel: string | null
  sent(update: SessionUpdate): void
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
    channel: null,
    sent: (update) => void hub.emitter.emit(update.userId, update),
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

  return {
    publish(update) {
      // Once our LISTEN is in place it delivers our own NOTIFY back to us, so local subscribers hear it
      // through that; before, they hear it directly (a rare double delivery only costs a page refresh).
      const viaListen = listening
      if (!viaListen) hub.emitter.emit(update.userId, update)
      sql.notify(CHANNEL, JSON.stringify(update)).catch((err: unknown) => {
        log.warn({ err }, 'NOTIFY for a live dashboard update failed; only pages served by this process see it')
        if (viaListen) hub.emitter.emit(update.userId, update)
      })
    },
    channel: CHANNEL,
    sent(update) {
      if (!listening) hub.emitter.emit(update.userId, update)
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
