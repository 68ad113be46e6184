import { createHash, randomBytes } from 'node:crypto'
import type { Sql } from 'postgres'

/** A Claude Code session the plugin asked us to watch. */
export interface MonitoringSession {
  id: string
  userId: string
  claudeSessionId: string
  description: string
  hostname: string | null
  project: string | null
  status: 'active' | 'stale' | 'stopped'
  heartbeatIntervalMs: number
  startedAt: Date
  lastHeartbeatAt: Date
  staleAt: Date | null
  stoppedAt: Date | null
}

type SessionRow = {
  id: string
  user_id: string
  claude_session_id: string
  description: string
  hostname: string | null
  project: string | null
  status: MonitoringSession['status']
  heartbeat_interval_ms: number
  started_at: Date
  last_heartbeat_at: Date
  stale_at: Date | null
  stopped_at: Date | null
}

const toSession = (r: SessionRow): MonitoringSession => ({
  id: r.id,
  userId: r.user_id,
  claudeSessionId: r.claude_session_id,
  description: r.description,
  hostname: r.hostname,
  project: r.project,
  status: r.status,
  heartbeatIntervalMs: r.heartbeat_interval_ms,
  startedAt: r.started_at,
  lastHeartbeatAt: r.last_heartbeat_at,
  staleAt: r.stale_at,
  stoppedAt: r.stopped_at,
})

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000
/** A session goes stale after this many heartbeat intervals without one. */
export const MISSED_HEARTBEATS = 3

/** Session tokens are 32 random bytes; only their SHA-256 is stored (a database leak reveals no token). */
export function newSessionToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashSessionToken(token) }
}

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** Raised when the Claude session already has a live monitoring session. */
export class SessionConflict extends Error {
  override name = 'SessionConflict'
  constructor(readonly monitoringId: string | undefined) {
    super('this Claude session is already monitored')
  }
}

/** Monitoring sessions a user may have running at once when the caller names no limit. */
export const DEFAULT_MAX_LIVE_SESSIONS_PER_USER = 50

/** Raised when the user already runs as many monitoring sessions as allowed. */
export class TooManyLiveSessions extends Error {
  override name = 'TooManyLiveSessions'
  constructor(
    readonly live: number,
    readonly max: number,
  ) {
    super(`${live} live monitoring sessions, at most ${max}`)
  }
}

/**
 * Starts monitoring. At most `maxLive` sessions of a user run at once: the count and the insert happen
 * under a per-user transaction lock, so concurrent starts cannot slip past the limit. Sessions that went
 * stale (heartbeats stopped: a closed laptop, a dead process) do not count, since nobody may be left to
 * stop them; a stale session that comes back is let in again.
 */
export async function startSession(
  sql: Sql,
  s: { userId: string; claudeSessionId: string; description: string; hostname?: string; project?: string; heartbeatIntervalMs?: number; startedAt: Date; now: Date; maxLive?: number },
): Promise<{ session: MonitoringSession; token: string }> {
  const { token, hash } = newSessionToken()
  const maxLive = s.maxLive ?? DEFAULT_MAX_LIVE_SESSIONS_PER_USER
  try {
    const row = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtextextended(${`monitoring-start:${s.userId}`}, 0))`
      const [live] = await tx<{ n: number }[]>`select count(*)::int as n from monitoring_sessions where user_id = ${s.userId} and status = 'active'`
      if (live!.n >= maxLive) throw new TooManyLiveSessions(live!.n, maxLive)
      const [inserted] = await tx<SessionRow[]>`
        insert into monitoring_sessions (user_id, claude_session_id, description, hostname, project, session_token_hash,
                                         heartbeat_interval_ms, started_at, last_heartbeat_at, created_at)
        values (${s.userId}, ${s.claudeSessionId}, ${s.description}, ${s.hostname ?? null}, ${s.project ?? null}, ${hash},
                ${s.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS}, ${s.startedAt}, ${s.now}, ${s.now})
        returning *`
      return inserted!
    })
    return { session: toSession(row), token }
  } catch (e) {
    // 23505: the partial unique index on live sessions per (user, Claude session) said no.
    if ((e as { code?: string }).code !== '23505') throw e
    const [live] = await sql<{ id: string }[]>`
      select id from monitoring_sessions where user_id = ${s.userId} and claude_session_id = ${s.claudeSessionId} and status <> 'stopped'`
    throw new SessionConflict(live?.id)
  }
}

export async function findSessionByToken(sql: Sql, token: string): Promise<MonitoringSession | undefined> {
  const [row] = await sql<SessionRow[]>`select * from monitoring_sessions where session_token_hash = ${hashSessionToken(token)}`
  return row ? toSession(row) : undefined
}

export async function stopSession(sql: Sql, id: string, s: { reason: string; finalState?: string; endedAt: Date }): Promise<MonitoringSession | undefined> {
  const [row] = await sql<SessionRow[]>`
    update monitoring_sessions
    set status = 'stopped', stopped_at = ${s.endedAt}, stop_reason = ${s.reason}, final_state = ${s.finalState ?? null}
    where id = ${id} and status <> 'stopped'
    returning *`
  return row ? toSession(row) : undefined
}

export async function sessionSummary(sql: Sql, session: MonitoringSession, endedAt: Date): Promise<{ duration_seconds: number; sms_sent: number; errors_encountered: number }> {
  const [counts] = await sql<{ sms_sent: number; errors: number }[]>`
    select count(*) filter (where e.sms_id is not null and m.status <> 'failed')::int as sms_sent,
           count(*) filter (where e.event_type = 'error')::int as errors
    from session_events e left join sms_messages m on m.id = e.sms_id
    where e.session_id = ${session.id}`
  return {
    duration_seconds: Math.max(0, Math.round((endedAt.getTime() - session.startedAt.getTime()) / 1000)),
    sms_sent: counts?.sms_sent ?? 0,
    errors_encountered: counts?.errors ?? 0,
  }
}

/**
 * Marks sessions stale that missed MISSED_HEARTBEATS intervals and returns them. With several server
 * processes on one database each stale session is returned to exactly one of them: the rows are
 * claimed with FOR UPDATE SKIP LOCKED and the update re-checks the status.
 */
export async function claimStaleSessions(sql: Sql, now: Date, limit = 100): Promise<MonitoringSession[]> {
  const rows = await sql<SessionRow[]>`
    update monitoring_sessions s set status = 'stale', stale_at = ${now}
    where s.id in (
      select id from monitoring_sessions
      where status = 'active'
        and last_heartbeat_at + make_interval(secs => heartbeat_interval_ms * ${MISSED_HEARTBEATS} / 1000.0) < ${now}
      order by last_heartbeat_at
      limit ${limit}
      for update skip locked)
      and s.status = 'active'
    returning s.*`
  return rows.map(toSession)
}

/** The user's sessions that are still monitored (for STATUS). */
export async function liveSessionsOfUser(sql: Sql, userId: string): Promise<MonitoringSession[]> {
  const rows = await sql<SessionRow[]>`
    select * from monitoring_sessions where user_id = ${userId} and status <> 'stopped' order by started_at desc`
  return rows.map(toSession)
}
