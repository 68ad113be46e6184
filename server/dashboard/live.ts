import type { RequestHandler } from 'express'
import type { SessionUpdates } from '../session-updates.js'

/**
 * GET /dashboard/live: Server-Sent Events for the signed-in user. Each update names only what changed
 * (kind and monitoring id); the page fetches itself again to show it. A comment every 25 s keeps
 * proxies from closing the idle stream; EventSource reconnects by itself after `retry` ms.
 */
export function liveUpdates(updates: SessionUpdates, opts: { keepAliveMs?: number } = {}): RequestHandler {
  const keepAliveMs = opts.keepAliveMs ?? 25_000
  return async (req, res) => {
    const userId = req.dashboard!.userId
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
    const unsubscribe = updates.subscribe(userId, (u) => {
      res.write(`event: update\ndata: ${JSON.stringify({ kind: u.kind, monitoringId: u.monitoringId })}\n\n`)
    })
    const stopOnShutdown = updates.onClose(() => res.end())
    const ping = setInterval(() => res.write(': ping\n\n'), keepAliveMs)
    ping.unref()
    req.on('close', () => {
      clearInterval(ping)
      unsubscribe()
      stopOnShutdown()
    })
  }
}
