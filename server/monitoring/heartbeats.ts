import type { Sql } from 'postgres'
import type { SessionUpdates } from '../session-updates.js'
import { hashSessionToken } from './sessions.js'

/** One heartbeat as the route hands it over: who sends it (token and the id in the path) and when. */
export interface Beat {
  token: string
  monitoringId: string
  now: Date
  lastActivity: Date | null
}

/** The live session a heartbeat named, once it is marked alive. */
export interface BeatSession {
  id: string
  userId: string
}

export interface HeartbeatWriter {
  /**
   * Marks the session alive (a stale one becomes active again) and resolves once that is committed;
   * undefined when the token and id name no live session (the caller then says why: 401 or 404).
   */
  beat(beat: Beat): Promise<BeatSession | undefined>
}

interface Waiting {
  tokenHash: string
  monitoringId: string
  now: Date
  lastActivity: Date | null
  waiters: { resolve: (s: BeatSession | undefined) => void; reject: (e: unknown) => void }[]
}

/**
 * Heartbeats are written together: those that arrive while `concurrency` writes are in flight wait
 * for the next write, which carries all of them in one UPDATE and one commit. Alone, a heartbeat is
 * written at once (the batch is what arrived in the same turn of the event loop), so batching costs
 * latency only under load, where it saves a commit per heartbeat. Each request is still answered only
 * after its own heartbeat is committed, and is refused when its session is not live. Rows are locked
 * in id order, so batches of this and other server processes never deadlock. Every session marked
 * alive is published for the dashboard (batched NOTIFYs: server/session-updates.ts).
 */
export function createHeartbeatWriter(deps: { sql: Sql; updates?: SessionUpdates; concurrency?: number; maxBatch?: number }): HeartbeatWriter {
  const { sql } = deps
  const concurrency = deps.concurrency ?? 1
  const maxBatch = deps.maxBatch ?? 500
  let queue = new Map<string, Waiting>()
  let inFlight = 0
  let scheduled = false

  function schedule() {
    if (scheduled || inFlight >= concurrency || queue.size === 0) return
    scheduled = true
    // What arrives in this turn of the event loop goes in the same write.
    setImmediate(() => {
      scheduled = false
      void flush()
    })
  }

  async function flush() {
    if (inFlight >= concurrency || queue.size === 0) return
    let batch: Waiting[]
    if (queue.size <= maxBatch) {
      batch = [...queue.values()]
      queue = new Map()
    } else {
      batch = []
      for (const [key, w] of queue) {
        if (batch.length === maxBatch) break
        batch.push(w)
        queue.delete(key)
      }
    }
    inFlight++
    try {
      const rows = await write(batch)
      const found = new Map(rows.map((r) => [`${r.hash} ${r.req_id}`, { id: r.id, userId: r.user_id }]))
      for (const w of batch) {
        const session = found.get(`${w.tokenHash} ${w.monitoringId}`)
        if (session) deps.updates?.publish({ userId: session.userId, monitoringId: session.id, kind: 'heartbeat' })
        for (const waiter of w.waiters) waiter.resolve(session)
      }
    } catch (e) {
      for (const w of batch) for (const waiter of w.waiters) waiter.reject(e)
    } finally {
      inFlight--
      schedule()
    }
  }

  function write(batch: Waiting[]) {
    const text = (values: (string | null)[]) => sql.array(values as string[], 25)
    return sql<{ id: string; user_id: string; hash: string; req_id: string }[]>`
      with v as (
        select * from unnest(${text(batch.map((w) => w.tokenHash))}::text[], ${text(batch.map((w) => w.monitoringId))}::text[],
                             ${text(batch.map((w) => w.now.toISOString()))}::text[], ${text(batch.map((w) => w.lastActivity?.toISOString() ?? null))}::text[])
          as v(hash, req_id, beat_at, activity_at)
      ),
      locked as (
        select s.id, v.hash, v.req_id, v.beat_at::timestamptz as beat_at, v.activity_at::timestamptz as activity_at
        from monitoring_sessions s join v on s.session_token_hash = v.hash and s.id::text = v.req_id
        where s.status <> 'stopped'
        order by s.id
        for update of s
      ),
      -- The newest activity wins, whichever of two heartbeats is written last.
      u as (
        update monitoring_sessions s
        set last_heartbeat_at = l.beat_at, status = 'active', stale_at = null, last_activity_at = greatest(l.activity_at, s.last_activity_at)
        from locked l where s.id = l.id and s.status <> 'stopped'
        returning s.id, s.user_id, l.hash, l.req_id
      )
      select u.id, u.user_id, u.hash, u.req_id from u`
  }

  return {
    beat(b) {
      return new Promise((resolve, reject) => {
        const tokenHash = hashSessionToken(b.token)
        const key = `${tokenHash} ${b.monitoringId}`
        const waiting = queue.get(key)
        if (waiting) {
          // The same session twice in one batch: one row, the later time, the newest activity.
          if (b.now > waiting.now) waiting.now = b.now
          if (b.lastActivity && (!waiting.lastActivity || b.lastActivity > waiting.lastActivity)) waiting.lastActivity = b.lastActivity
          waiting.waiters.push({ resolve, reject })
        } else {
          queue.set(key, { tokenHash, monitoringId: b.monitoringId, now: b.now, lastActivity: b.lastActivity, waiters: [{ resolve, reject }] })
        }
        schedule()
      })
    },
  }
}
