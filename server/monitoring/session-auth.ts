import type { RequestHandler } from 'express'
import type { Sql } from 'postgres'
import { bearerToken } from '../auth/access-tokens.js'
import { ApiError } from '../http/errors.js'
import { beatByToken, findSessionByToken, type MonitoringSession } from './sessions.js'

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      monitoringSession?: MonitoringSession
    }
  }
}

/**
 * `Authorization: Bearer <session token>` for /sessions/:monitoring_id/*. A missing, unknown or dead
 * token (the session was stopped, or the user logged out) is 401; a live token of another session is
 * 404 session_not_found, the same answer as an unknown id, so nothing is revealed about other sessions.
 */
export async function authenticateSession(sql: Sql, authorization: string | undefined, monitoringId: unknown): Promise<MonitoringSession> {
  const token = bearerToken(authorization)
  if (!token) throw new ApiError(401, 'unauthorized', 'Missing "Authorization: Bearer <session token>" header. Start monitoring with /sms-notifier:sms-start.')
  const session = await findSessionByToken(sql, token)
  if (!session || session.status === 'stopped') {
    throw new ApiError(401, 'unauthorized', 'This session token is not valid (monitoring was stopped or you logged out). Start monitoring again with /sms-notifier:sms-start.')
  }
  if (session.id !== monitoringId) throw new ApiError(404, 'session_not_found', 'No monitoring session with this id for this token.')
  return session
}

export function requireSessionToken(sql: Sql): RequestHandler {
  return async (req, _res, next) => {
    try {
      req.monitoringSession = await authenticateSession(sql, req.headers.authorization, req.params.monitoring_id)
      next()
    } catch (e) {
      next(e)
    }
  }
}

/**
 * Authentication and a heartbeat in one statement, for the two requests every monitored session
 * sends most (heartbeats and events): the update finds the live session by token and id and marks it
 * alive. Only when it finds nothing does authenticateSession run, to say why (401 or 404), so the
 * answers are those of requireSessionToken. The caller validates its body first: a request refused
 * as invalid must not count as a heartbeat.
 */
export async function authenticateAndBeat(sql: Sql, req: { headers: { authorization?: string }; params: Record<string, unknown> }, now: Date, lastActivity?: Date | null): Promise<MonitoringSession> {
  const token = bearerToken(req.headers.authorization)
  const monitoringId = req.params.monitoring_id
  const session = token && typeof monitoringId === 'string' ? await beatByToken(sql, token, monitoringId, now, lastActivity) : undefined
  if (session) return session
  await authenticateSession(sql, req.headers.authorization, monitoringId)
  // The session was live a moment ago and has just been stopped.
  throw new ApiError(401, 'unauthorized', 'Monitoring of this session has stopped. Start it again with /sms-notifier:sms-start.')
}
