import { setTimeout as pause } from 'node:timers/promises'

/**
 * Waits for a condition on state another process changes (files on disk, rows it writes) where no
 * event tells us: checks every 50 ms, fails after timeoutMs naming what it waited for (`what` may be
 * a function, to say what it last saw).
 */
export async function until(what: string | (() => string), condition: () => boolean | Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${typeof what === 'string' ? what : what()}`)
    await pause(50)
  }
}
