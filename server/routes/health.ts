import { Router } from 'express'
import type { Sql } from 'postgres'
import { methodNotAllowed, sendError } from '../http/errors.js'

/** GET /healthz: 200 when the database answers within a second, 503 otherwise. */
export function healthRouter(deps: { sql: Sql }): Router {
  const router = Router()
  router
    .route('/healthz')
    .get(async (req, res) => {
      const started = Date.now()
      try {
        await withTimeout(deps.sql`select 1`.execute(), 1_000)
        res.setHeader('Cache-Control', 'no-store')
        res.json({ status: 'ok', database: 'ok', database_ms: Date.now() - started })
      } catch (err) {
        req.log.warn({ err }, 'health check: database not answering')
        res.setHeader('Retry-After', '5')
        sendError(req, res, 503, 'service_unavailable', 'The database is not answering', { status: 'unavailable', database: 'unreachable' })
      }
    })
    .all(methodNotAllowed(['GET']))
  return router
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
    }),
  ])
}
