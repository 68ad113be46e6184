/**
 * A background pass (the sweeper's, the call escalation's) run every `intervalMs` once started, never
 * two at a time in one process: a tick that finds the last pass still running skips.
 */
export function periodicPass(pass: () => Promise<unknown>, onError: (err: unknown) => void) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  return {
    start(intervalMs: number) {
      if (timer) return
      timer = setInterval(() => {
        running ??= pass()
          .catch(onError)
          .finally(() => (running = undefined))
      }, intervalMs)
      timer.unref()
    },
    /** Stops the timer and waits for a pass in progress. */
    async stop() {
      clearInterval(timer)
      timer = undefined
      await running
    },
  }
}
