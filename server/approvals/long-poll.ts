import type { Sql } from 'postgres'
import type { Logger } from '../log.js'
import type { SessionUpdates } from '../session-updates.js'
import { findApproval, isOpen, type ApprovalRow } from './store.js'

/**
 * Waits until an approval request is settled or `waitMs` passes, then resolves with its row as it is.
 * Wake-ups come from `updates` (PostgreSQL LISTEN/NOTIFY: a decision taken by any server process on
 * the database); each one is only a hint to read the row again, so a lost or repeated NOTIFY costs at
 * most the rest of the wait. The row is read once more after the LISTEN is in place, so a decision
 * made between the first read and the subscription is not missed. Server shutdown and a closed
 * connection end the wait at once.
 */
export async function waitForSettlement(
  deps: { sql: Sql; updates: SessionUpdates; log?: Logger },
  session: { id: string; userId: string },
  approvalId: string,
  waitMs: number,
  signal: AbortSignal,
): Promise<ApprovalRow | undefined> {
  const read = () => findApproval(deps.sql, session.id, approvalId)
  const first = await read()
  if (!first || !isOpen(first.status) || waitMs <= 0) return first
  await deps.updates.ready()

  return new Promise<ApprovalRow | undefined>((resolve, reject) => {
    let done = false
    let reading: Promise<void> | undefined
    let again = false
    const cleanup: (() => void)[] = []
    const finish = (row?: ApprovalRow) => {
      if (done) return
      done = true
      for (const c of cleanup) c()
      if (row) resolve(row)
      else read().then(resolve, reject)
    }
    // One read at a time; a wake-up during a read asks for one more.
    const check = () => {
      if (done) return
      if (reading) {
        again = true
        return
      }
      reading = read()
        .then((row) => {
          if (!row || !isOpen(row.status)) finish(row)
        })
        .catch((e: unknown) => {
          done = true
          for (const c of cleanup) c()
          reject(e)
        })
        .finally(() => {
          reading = undefined
          if (again) {
            again = false
            check()
          }
        })
    }
    cleanup.push(
      deps.updates.subscribe(session.userId, (u) => {
        if (u.kind === 'approval' && u.monitoringId === session.id) check()
      }),
    )
    cleanup.push(deps.updates.onClose(() => finish()))
    deps.log?.debug({ approval_id: approvalId, wait_ms: waitMs }, 'long poll waiting for a decision')
    const timer = setTimeout(() => finish(), waitMs)
    cleanup.push(() => clearTimeout(timer))
    const onAbort = () => finish()
    signal.addEventListener('abort', onAbort, { once: true })
    cleanup.push(() => signal.removeEventListener('abort', onAbort))
    check()
  })
}
