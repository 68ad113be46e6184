import type { RequestHandler } from 'express'
import type { Clock } from '../clock.js'
import type { SessionUpdates } from '../session-updates.js'

/** Live pages one signed-in browser session may hold open at once; a new one closes the oldest. */
export const MAX_STREAMS_PER_SESSION = 4

export interface LiveOptions {
  clock: Clock
  /** True while the dashboard session still stands (not signed out, not expired): asked on every "signed_out" update. */
  sessionStands(sessionId: string): Promise<boolean>
  keepAliveMs?: number
  maxStreamsPerSession?: number
}

/**
 * GET /dashboard/live: Server-Sent Events for the signed-in user. Each update names only what changed
 * (kind and monitoring id); the page fetches itself again to show it. A comment every 25 s keeps
 * proxies from closing the idle stream; EventSource reconnects by itself after `retry` ms.
 *
 * A stream lives no longer than the sign-in it was opened with: it ends when that session expires, and
 * when a sign-out of this user (this browser, "sign out everywhere", STOP) leaves it standing no more.
 * Before ending it says why (`event: closed`), so the page stops reconnecting.
 */
export function liveUpdates(updates: SessionUpdates, opts: LiveOptions): RequestHandler {
  const keepAliveMs = opts.keepAliveMs ?? 25_000
  const maxStreams = opts.maxStreamsPerSession ?? MAX_STREAMS_PER_SESSION
  // Per dashboard session, its open streams oldest first (a Set keeps insertion order).
  const open = new Map<string, Set<(reason: string) => void>>()

  return async (req, res) => {
    const { userId, id: sessionId, expiresAt } = req.dashboard!
    // Headers go out only once the LISTEN is in place: an open stream then misses nothing published after.
    await updates.ready()
    if (req.socket.destroyed) return
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    })
    res.write('retry: 3000\n: connected\n\n')

    let ended = false
    const close = (reason: string) => {
      if (ended) return
      ended = true
      res.write(`event: closed\ndata: ${JSON.stringify({ reason })}\n\n`)
      res.end()
    }
    // A restart is no reason to stop: the page reconnects to the next server process by itself.
    const endForShutdown = () => {
      if (ended) return
      ended = true
      res.end()
    }
    const expired = () => opts.clock.now().getTime() >= expiresAt.getTime()

    const streams = open.get(sessionId) ?? new Set()
    open.set(sessionId, streams)
    for (const oldest of streams) {
      if (streams.size < maxStreams) break
      streams.delete(oldest)
      oldest('too_many_streams')
    }
    streams.add(close)

    const unsubscribe = updates.subscribe(userId, (u) => {
      if (ended) return
      if (expired()) return close('session_expired')
      if (u.kind === 'signed_out') {
        void opts.sessionStands(sessionId).then(
          (stands) => stands || close('signed_out'),
          () => close('signed_out'),
        )
        return
      }
      res.write(`event: update\ndata: ${JSON.stringify({ kind: u.kind, monitoringId: u.monitoringId })}\n\n`)
    })
    const stopOnShutdown = updates.onClose(endForShutdown)
    const ping = setInterval(() => (expired() ? close('session_expired') : res.write(': ping\n\n')), keepAliveMs)
    ping.unref()
    const expiry = setTimeout(() => close('session_expired'), Math.min(2 ** 31 - 1, Math.max(0, expiresAt.getTime() - opts.clock.now().getTime())))
    expiry.unref()
    req.on('close', () => {
      ended = true
      clearInterval(ping)
      clearTimeout(expiry)
      unsubscribe()
      stopOnShutdown()
      streams.delete(close)
      if (streams.size === 0 && open.get(sessionId) === streams) open.delete(sessionId)
    })
  }
}
