import type { Timers } from '../../mcp/timers.js'

/**
 * A clock and timers that move only when the test says so: advance(ms) runs every timer that falls
 * due, in time order.
 */
export function manualTime(start = new Date('2026-01-01T12:00:00Z')) {
  let now = start.getTime()
  let nextId = 1
  const pending = new Map<number, { at: number; fn: () => void; every?: number }>()
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = nextId++
      pending.set(id, { at: now + Math.max(0, ms), fn })
      return id
    },
    clearTimeout: (id) => void pending.delete(id as number),
    setInterval: (fn, ms) => {
      const id = nextId++
      pending.set(id, { at: now + ms, fn, every: ms })
      return id
    },
    clearInterval: (id) => void pending.delete(id as number),
  }
  return {
    now: () => new Date(now),
    timers,
    /** How many timers are waiting to ring. */
    get armed() {
      return pending.size
    },
    /** Moves time on, ringing due timers in order; `settle` is awaited after each (e.g. the monitor's queue). */
    async advance(ms: number, settle: () => Promise<unknown> = async () => undefined) {
      const target = now + ms
      for (;;) {
        const due = [...pending.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0]
        if (!due) break
        const [id, t] = due
        now = t.at
        if (t.every) t.at += t.every
        else pending.delete(id)
        t.fn()
        await settle()
      }
      now = target
    },
  }
}
