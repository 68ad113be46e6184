import { hostname, homedir } from 'node:os'
import { basename, join } from 'node:path'
import { z } from 'zod'

/**
 * The plugin's settings (DESIGN §7), read once from the environment Claude Code gives the MCP server.
 * A missing or bad value never crashes the server: it becomes a problem that the tools answer with,
 * because a crashed MCP server only shows the person "failed to connect" with no reason.
 */
export interface McpConfig {
  /** The server's base URL without a trailing slash; undefined when CLAUDE_SMS_AUTH_URL is unusable. */
  authUrl: string | undefined
  /** Why authUrl is undefined, in words a person can act on. */
  authUrlProblem: string | undefined
  /** Other settings that were invalid (their defaults are not used: sms_start refuses until fixed). */
  problems: string[]
  heartbeatIntervalMs: number
  inactivityThresholdMs: number
  doneThresholdMs: number
  retryBaseMs: number
  logLevel: string
  openBrowser: boolean
  /** CLAUDE_SMS_APPROVALS=1: every sms_start turns approvals by text on (sms_start's `approvals` wins). */
  approvals: boolean
  /** ~/.config/claude-sms-notifier (XDG_CONFIG_HOME respected). */
  configDir: string
  /** Where the hook forwarder finds this process: $CLAUDE_PLUGIN_DATA/run. */
  runDir: string
  /** Claude Code's pid: the MCP server is its direct child (DESIGN §3). */
  claudePid: number
  claudeSessionId: string | undefined
  project: string | undefined
  hostname: string
  /** Over SSH a browser opened here would open on the remote machine, if at all. */
  remoteShell: boolean
}

const blankToUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v)
const milliseconds = (fallback: number, min: number) =>
  z.preprocess(blankToUndefined, z.coerce.number({ error: 'must be a number of milliseconds' }).int('must be a whole number of milliseconds').min(min, `must be at least ${min} ms`).default(fallback))

const Env = z.object({
  CLAUDE_SMS_HEARTBEAT_INTERVAL: milliseconds(30_000, 100),
  CLAUDE_SMS_INACTIVITY_THRESHOLD: milliseconds(600_000, 100),
  CLAUDE_SMS_DONE_THRESHOLD: milliseconds(300_000, 0),
  CLAUDE_SMS_RETRY_BASE_MS: milliseconds(2_000, 10),
  CLAUDE_SMS_LOG_LEVEL: z.preprocess(
    blankToUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  ),
  CLAUDE_SMS_OPEN_BROWSER: z.preprocess(blankToUndefined, z.enum(['0', '1', 'false', 'true'], { error: 'must be 0 or 1' }).default('1')),
  CLAUDE_SMS_APPROVALS: z.preprocess(blankToUndefined, z.enum(['0', '1', 'false', 'true'], { error: 'must be 0 or 1' }).default('0')),
})

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** https anywhere, plain http only to this machine: the JWT and phone number travel over it. */
export function checkAuthUrl(raw: string | undefined): { url: string } | { problem: string } {
  const value = raw?.trim()
  if (!value) return { problem: 'CLAUDE_SMS_AUTH_URL is not set. Set it to your notifier server, e.g. https://sms.example.com, and restart Claude Code.' }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return { problem: `CLAUDE_SMS_AUTH_URL is not a URL (${JSON.stringify(value)}). Set it to e.g. https://sms.example.com and restart Claude Code.` }
  }
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))
  if (!secure) return { problem: `CLAUDE_SMS_AUTH_URL must use https (plain http only for 127.0.0.1 or localhost); got ${url.protocol}//${url.host}.` }
  if (url.search || url.hash || url.username) return { problem: 'CLAUDE_SMS_AUTH_URL must be a plain base URL such as https://sms.example.com (no query, fragment or credentials).' }
  return { url: url.toString().replace(/\/+$/, '') }
}

export function loadMcpConfig(env: NodeJS.ProcessEnv = process.env, parentPid = process.ppid): McpConfig {
  const auth = checkAuthUrl(env.CLAUDE_SMS_AUTH_URL)
  const parsed = Env.safeParse(env)
  const problems = parsed.success ? [] : parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`)
  const settings = parsed.success ? parsed.data : Env.parse({})
  const configHome = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), '.config')
  const configDir = join(configHome, 'claude-sms-notifier')
  return {
    authUrl: 'url' in auth ? auth.url : undefined,
    authUrlProblem: 'problem' in auth ? auth.problem : undefined,
    problems,
    heartbeatIntervalMs: settings.CLAUDE_SMS_HEARTBEAT_INTERVAL,
    inactivityThresholdMs: settings.CLAUDE_SMS_INACTIVITY_THRESHOLD,
    doneThresholdMs: settings.CLAUDE_SMS_DONE_THRESHOLD,
    retryBaseMs: settings.CLAUDE_SMS_RETRY_BASE_MS,
    logLevel: settings.CLAUDE_SMS_LOG_LEVEL,
    openBrowser: settings.CLAUDE_SMS_OPEN_BROWSER === '1' || settings.CLAUDE_SMS_OPEN_BROWSER === 'true',
    approvals: settings.CLAUDE_SMS_APPROVALS === '1' || settings.CLAUDE_SMS_APPROVALS === 'true',
    configDir,
    runDir: join(env.CLAUDE_PLUGIN_DATA?.trim() || configDir, 'run'),
    claudePid: parentPid,
    claudeSessionId: env.CLAUDE_CODE_SESSION_ID?.trim() || undefined,
    project: env.CLAUDE_PROJECT_DIR?.trim() ? basename(env.CLAUDE_PROJECT_DIR.trim()) : undefined,
    hostname: hostname(),
    remoteShell: Boolean(env.SSH_CONNECTION || env.SSH_TTY || env.SSH_CLIENT),
  }
}
