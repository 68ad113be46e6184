import { Router } from 'express'
import type { Sql } from 'postgres'
import { ApprovalPollQuery, ApprovalRequest, SettleRequest } from '../../contract/approvals.js'
import { ApiError, methodNotAllowed, parseOr400 } from '../http/errors.js'
import { requireSessionToken } from '../monitoring/session-auth.js'
import type { Logger } from '../log.js'
import type { SessionUpdates } from '../session-updates.js'
import { waitForSettlement } from './long-poll.js'
import type { Approvals } from './service.js'
import { toState } from './store.js'

const notFound = () => new ApiError(404, 'approval_not_found', 'No approval request with this id in this session.')

/** The three endpoints of contract/approvals.ts, authenticated with the session token like events. */
export function approvalsRouter(deps: { sql: Sql; approvals: Approvals; updates: SessionUpdates; log?: Logger }): Router {
  const { sql, approvals } = deps
  const router = Router()
  const sessionAuth = requireSessionToken(sql)

  router
    .route('/sessions/:monitoring_id/approvals')
    .post(sessionAuth, async (req, res) => {
      const body = parseOr400(ApprovalRequest, req.body)
      res.json(await approvals.create(req.monitoringSession!, body))
    })
    .all(methodNotAllowed(['POST']))

  router
    .route('/sessions/:monitoring_id/approvals/:approval_id')
    .get(sessionAuth, async (req, res) => {
      const { wait } = parseOr400(ApprovalPollQuery, req.query)
      const session = req.monitoringSession!
      const abort = new AbortController()
      res.on('close', () => abort.abort())
      let row = await waitForSettlement(deps, session, req.params.approval_id!, 0, abort.signal)
      if (!row) throw notFound()
      // A queued request moves on when the one before it is settled; a poll also moves it after a
      // pause or quiet hours ended, or after a process died between a settlement and the next text.
      if (row.status === 'queued') {
        await approvals.advance(session.id, session.userId)
        row = undefined
      }
      if (wait > 0 || !row) row = await waitForSettlement(deps, session, req.params.approval_id!, wait * 1000, abort.signal)
      if (!row) throw notFound()
      res.setHeader('Cache-Control', 'no-store')
      res.json(toState(row))
    })
    .all(methodNotAllowed(['GET']))

  router
    .route('/sessions/:monitoring_id/approvals/:approval_id/settle')
    .post(sessionAuth, async (req, res) => {
      const body = parseOr400(SettleRequest, req.body)
      const state = await approvals.settleFromPlugin(req.monitoringSession!, req.params.approval_id!, body)
      if (!state) throw notFound()
      res.json(state)
    })
    .all(methodNotAllowed(['POST']))

  return router
}
