import type { RequestHandler } from 'express'
import type { Sql } from 'postgres'
import { bearerToken } from '../auth/access-tokens.js'
import { ApiError } from '../http/errors.js'
import { findSessionByToken, type MonitoringSession } from './sessions.js'

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

