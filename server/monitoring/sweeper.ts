import type { Sql } from 'postgres'
import type { Clock } from '../clock.js'
import type { Logger } from '../log.js'
import { periodicPass } from '../periodic-pass.js'
import type { Notifier } from '../sms/notifier.js'
import type { SessionUpdates } from '../session-updates.js'
import { claimDueQuietDigests, claimExpiredPauses } from '../sms/subscription.js'
import { claimStaleSessions } from './sessions.js'

export interface SweepResult {
  /** Sessions this sweep marked stale (each is claimed by exactly one server process). */
  stale: string[]
  wentDarkTexts: number
  /** Users whose pause or quiet hours ran out and who got one summary text. */
  digests: number
}

export interface Sweeper {
  /** One pass; tests call it directly with a manual clock. */
  sweep(): Promise<SweepResult>
  start(intervalMs: number): void
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>
}

/**
 * Background duties of the server: sessions that stopped sending heartbeats go stale and get one
 * "went dark" text; pauses and quiet hours that ran out get their summary when no other text has sent it.
 * Stale marks are published to `updates` (the dashboard's live pages).
 */
export function createSweeper(deps: { sql: Sql; clock: Clock; log: Logger; notifier: Notifier; updates?: SessionUpdates }): Sweeper {
  const { sql, clock, log, notifier } = deps

  async function sweep(): Promise<SweepResult> {
    const result: SweepResult = { stale: [], wentDarkTexts: 0, digests: 0 }
    for (const session of await claimStaleSessions(sql, clock.now())) {
      result.stale.push(session.id)
      try {
        const delivery = await notifier.notifyWentDark(session)
        if (delivery.kind === 'sent') result.wentDarkTexts++
      } catch (err) {
        log.error({ err, monitoring_id: session.id }, 'could not send the went-dark text')
      }
      deps.updates?.publish({ userId: session.userId, monitoringId: session.id, kind: 'stale' })
    }
    for (const userId of await claimExpiredPauses(sql, clock.now())) {
      try {
        if (await notifier.sendPauseDigest(userId)) result.digests++
      } catch (err) {
        log.error({ err, user_id: userId }, 'could not send the end-of-pause summary')
      }
    }
    for (const userId of await claimDueQuietDigests(sql, clock.now())) {
      try {
        if (await notifier.sendPauseDigest(userId, { quietHours: true })) result.digests++
      } catch (err) {
        log.error({ err, user_id: userId }, 'could not send the end-of-quiet-hours summary')
      }
      deps.updates?.publish({ userId, monitoringId: null, kind: 'event' })
    }
    return result
  }

  const job = periodicPass(sweep, (err) => log.error({ err }, 'sweep failed'))
  return { sweep, start: job.start, stop: job.stop }
}
