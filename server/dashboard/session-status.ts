/** What the dashboard calls a monitoring session's state. */
export type SessionStatus = 'live' | 'waiting' | 'stale' | 'ended'

/**
 * Pure: from the stored status ('active', 'stale', 'stopped') and the newest event. An active session
 * whose newest event says Claude is waiting, with no activity from the user since, is "waiting".
 */
export function sessionStatus(s: {
  status: string
  lastEventType: string | null
  lastEventAt: Date | null
  lastActivityAt: Date | null
}): SessionStatus {
  if (s.status === 'stopped') return 'ended'
  if (s.status === 'stale') return 'stale'
  if (s.lastEventType === 'waiting' && s.lastEventAt && (!s.lastActivityAt || s.lastActivityAt.getTime() <= s.lastEventAt.getTime())) return 'waiting'
  return 'live'
}

export const STATUS_LABEL: Record<SessionStatus, string> = { live: 'Live', waiting: 'Waiting', stale: 'Stale', ended: 'Ended' }
