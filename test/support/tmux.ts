import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * A program in a terminal of its own: a private tmux server (its own socket, so nothing of another tmux
 * is touched) running one window of a fixed size. The end-to-end suite drives interactive Claude Code
 * with it: the screen is read with capture-pane and keys are typed with send-keys.
 */
export interface Terminal {
  /** The screen as text, right now. */
  screen(): Promise<string>
  /** Resolves with the screen once it matches; rejects with the last screen after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  /** Types literal text (no key names). */
  type(text: string): Promise<void>
  /** Presses keys by tmux name: Enter, Escape, Down, C-c ... */
  press(...keys: string[]): Promise<void>
  close(): Promise<void>
}

/** Polling interval for waitFor: a screen has no change event to await. */
const POLL_MS = 150

export async function startTerminal(opts: { command: string; args: string[]; env: Record<string, string>; cwd: string; width?: number; height?: number }): Promise<Terminal> {
  const socket = join(mkdtempSync(join(tmpdir(), 'e2e-tmux-')), 'socket')
  const tmux = (...args: string[]) => run('tmux', ['-S', socket, ...args], { timeout: 10_000 })
  // env -i: the program sees exactly opts.env, not the environment of the tmux server.
  const envArgs = Object.entries({ TERM: 'xterm-256color', ...opts.env }).map(([k, v]) => `${k}=${v}`)
  await tmux('new-session', '-d', '-s', 'e2e', '-x', String(opts.width ?? 160), '-y', String(opts.height ?? 50), '-c', opts.cwd, '--', 'env', '-i', ...envArgs, opts.command, ...opts.args)
  // Keep the pane after the program exits, so its last screen can still be read.
  await tmux('set-option', '-t', 'e2e', 'remain-on-exit', 'on').catch(() => undefined)
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'e2e', '-S', '-200')).stdout
  return {
    screen,
    async waitFor(pattern, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs
      let last = ''
      while (Date.now() < until) {
        last = await screen().catch(() => last)
        if (pattern.test(last)) return last
        await new Promise((r) => setTimeout(r, POLL_MS))
      }
      throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${last}`)
    },
    async type(text) {
      await tmux('send-keys', '-t', 'e2e', '-l', text)
    },
    async press(...keys) {
      await tmux('send-keys', '-t', 'e2e', ...keys)
    },
    async close() {
      await tmux('kill-server').catch(() => undefined)
    },
  }
}
