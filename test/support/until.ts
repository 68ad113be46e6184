import { setTimeout as pause } from 'node:timers/promises'

/**
 * Waits for a condition on state another process changes (files on disk) where no event tells us:
 * checks every 50 ms, fails after timeoutMs naming what it waited for.
 */
export async function until(what: string, condition: () => boolean, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await pause(50)
  }
}
