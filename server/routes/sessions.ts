import { Router, type Response } from 'express'
import type { Sql } from 'postgres'
import { EventRequest, HeartbeatRequest, StartSessionRequest, StopRequest } from '../../contract/api.js'
import { bearerToken, requireAccessToken, type AccessTokens } from '../auth/access-tokens.js'
import type { Clock } from '../clock.js'
import { ApiError, invalidRequest, methodNotAllowed, parseOr400 } from '../http/errors.js'
import { createHeartbeatWriter, type HeartbeatWriter } from '../monitoring/heartbeats.js'
import { authenticateSession, requireSessionToken } from '../monitoring/session-auth.js'
import { DEFAULT_MAX_LIVE_SESSIONS_PER_USER, SessionConflict, sessionSummary, startSession, stopSession, TooManyLiveSessions } from '../monitoring/sessions.js'
import type { SessionUpdates, SessionUpdate } from '../session-updates.js'
import type { Notifier } from '../sms/notifier.js'
import { redactSecrets } from '../sms/redact.js'
import { StartApprovalsFields } from '../../contract/approvals.js'
import type { Approvals } from '../approvals/service.js'
import { enableApprovals } from '../approvals/store.js'

const StartRequest = StartSessionRequest.extend(StartApprovalsFields.shape)

/**
 * The JSON answer to a heartbeat or an event, as res.json sends it but without the ETag: a POST's
 * answer is never revalidated, and hashing every answer (sha1) is a cost per request of the two
 * routes every monitored session calls most.
 */
function answerJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.status(status).set('Content-Type', 'application/json; charset=utf-8').set('Content-Length', String(Buffer.byteLength(text))).end(text)
}
const HEARTBEAT_ANSWER = { status: 'active', monitoring: true }

/**
 * POST /sessions/start (user's JWT), then events, heartbeat and stop (the session's own token). Each
 * change is published to `updates`, which the dashboard's live pages listen to.
 */
export function sessionsRouter(deps: { sql: Sql; clock: Clock; accessTokens: AccessTokens; notifier: Notifier; updates?: SessionUpdates; approvals?: Approvals; maxLiveSessionsPerUser?: number; heartbeats?: HeartbeatWriter }): Router {
  const { sql, clock, notifier } = deps
  const publish = (session: { userId: string; id: string }, kind: SessionUpdate['kind']) => deps.updates?.publish({ userId: session.userId, monitoringId: session.id, kind })
  const router = Router()
  const sessionAuth = requireSessionToken(sql)
  const heartbeats = deps.heartbeats ?? createHeartbeatWriter({ sql, updates: deps.updates })

  router
    .route('/sessions/start')
    .post(requireAccessToken(deps.accessTokens), async (req, res) => {
      const body = parseOr400(StartRequest, req.body)
      const now = clock.now()
      try {
        const { session, token } = await startSession(sql, {
          userId: req.user!.id,
          claudeSessionId: body.claude_session_id,
          // Shown in every text, STATUS reply and the dashboard: no secret is kept, even one typed by mistake.
          description: redactSecrets(body.description),
          hostname: body.hostname,
          project: body.project,
          heartbeatIntervalMs: body.heartbeat_interval_ms,
          startedAt: body.started_at ? new Date(body.started_at) : now,
          now,
          maxLive: deps.maxLiveSessionsPerUser ?? DEFAULT_MAX_LIVE_SESSIONS_PER_USER,
        })
        // Approvals by text: asked for at the computer, and never against the account's switch.
        const approvalsEnabled = body.approvals ? await enableApprovals(sql, session.id, session.userId) : false
        req.log.info({ monitoring_id: session.id, user_id: session.userId, approvals: approvalsEnabled }, 'monitoring started')
        publish(session, 'started')
        // The answer carries the session's token: never stored by a cache on the way.
        res.setHeader('Cache-Control', 'no-store')
        res.json({ session_token: token, monitoring_id: session.id, approvals_enabled: approvalsEnabled })
      } catch (e) {
        if (e instanceof TooManyLiveSessions) {
          throw new ApiError(
            429,
            'rate_limited',
            `You already have ${e.live} monitored sessions running, the most this server allows (MAX_LIVE_SESSIONS_PER_USER). Stop the ones you no longer need (/sms-notifier:sms-stop in their Claude sessions, or "Sign out everywhere" on the dashboard's settings page), then start again.`,
            { live_sessions: e.live, max_live_sessions: e.max },
            { 'Retry-After': '60' },
          )
        }
        if (!(e instanceof SessionConflict)) throw e
        throw new ApiError(409, 'conflict', 'This Claude session is already being monitored. Stop it first (/sms-notifier:sms-stop), then start again.', { monitoring_id: e.monitoringId ?? null })
      }
    })
    .all(methodNotAllowed(['POST']))

  // Heartbeats and events authenticate and mark the session alive in the statement that does their
  // work. Body first, so that a refused request is no heartbeat; but a bad token is still answered 401
  // before a bad body is answered 400, as on every session route.
  router
    .route('/sessions/:monitoring_id/events')
    .post(async (req, res) => {
      const parsed = EventRequest.safeParse(req.body)
      if (!parsed.success) {
        await authenticateSession(sql, req.headers.authorization, req.params.monitoring_id)
        throw invalidRequest(parsed.error)
      }
      // An event proves the session is alive, as a heartbeat does (and revives a stale one); the
      // notifier publishes it for the dashboard.
      // What became of it is told in the request's log line.
      const answer = await notifier.handleEvent({ authorization: req.headers.authorization, monitoringId: req.params.monitoring_id }, parsed.data, (res.locals.logFields = {}))
      if (answer.status === 429) {
        res.setHeader('Retry-After', String(answer.body.retry_after ?? 60))
        answerJson(res, 429, { ...answer.body, request_id: req.requestId })
        return
      }
      answerJson(res, answer.status, answer.body)
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/sessions/:monitoring_id/heartbeat')
    .post(async (req, res) => {
      const parsed = HeartbeatRequest.safeParse(req.body)
      if (!parsed.success) {
        await authenticateSession(sql, req.headers.authorization, req.params.monitoring_id)
        throw invalidRequest(parsed.error)
      }
      const token = bearerToken(req.headers.authorization)
      const monitoringId = req.params.monitoring_id
      const lastActivity = parsed.data.last_activity ? new Date(parsed.data.last_activity) : null
      // Written with the heartbeats that arrive meanwhile, in one statement; published for the dashboard.
      const alive = token && typeof monitoringId === 'string' ? await heartbeats.beat({ token, monitoringId, now: clock.now(), lastActivity }) : undefined
      if (!alive) {
        await authenticateSession(sql, req.headers.authorization, monitoringId)
        // The session was live a moment ago and has just been stopped.
        throw new ApiError(401, 'unauthorized', 'Monitoring of this session has stopped. Start it again with /sms-notifier:sms-start.')
      }
      answerJson(res, 200, HEARTBEAT_ANSWER)
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/sessions/:monitoring_id/stop')
    .post(sessionAuth, async (req, res) => {
      const body = parseOr400(StopRequest, req.body ?? {})
      const session = req.monitoringSession!
      const now = clock.now()
      // The client's clock may be off: ended_at is kept only between the start and now.
      const claimed = body.ended_at ? new Date(body.ended_at) : now
      const endedAt = new Date(Math.min(now.getTime(), Math.max(session.startedAt.getTime(), claimed.getTime())))
      const stopped = await stopSession(sql, session.id, { reason: body.reason, finalState: body.final_state, endedAt })
      if (!stopped) throw new ApiError(401, 'unauthorized', 'Monitoring of this session has already stopped.')
      await deps.approvals?.endSessions([stopped.id])
      req.log.info({ monitoring_id: session.id, reason: body.reason }, 'monitoring stopped')
      publish(stopped, 'stopped')
      res.json({ stopped: true, session_summary: await sessionSummary(sql, stopped, endedAt) })
    })
    .all(methodNotAllowed(['POST']))

  return router
}
