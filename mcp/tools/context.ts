import type { Api } from '../api.js'
import type { Approvals } from '../approvals.js'
import type { Auth } from '../auth.js'
import type { McpConfig } from '../config.js'
import type { LoginCallback } from '../login-callback.js'
import type { Logger } from '../log.js'
import type { Monitor } from '../monitor.js'
import type { Outbox } from '../outbox.js'
import type { StorePaths } from '../store.js'

/** A pairing begun by sms_setup and finished by sms_pair, held by this process only. */
export type PendingLogin =
  | { mode: 'browser'; state: string; url: string; callback: LoginCallback; startedAt: Date }
  | { mode: 'remote'; state: string; tempToken: string; phone: string; startedAt: Date }

/** What the tools work with; passed in by main.ts, so tests can build one around temp dirs. */
export interface ToolContext {
  config: McpConfig
  paths: StorePaths
  api: Api
  auth: Auth
  monitor: Monitor
  approvals: Approvals
  outbox: Outbox
  log: Logger
  /** Opens the URL in a browser; false when it could not or should not (SSH, no display). */
  openUrl(url: string): Promise<boolean>
  login: { pending?: PendingLogin }
  now(): Date
}
