import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { z } from 'zod'

/**
 * The plugin's files under ~/.config/claude-sms-notifier (DESIGN §6): directories 0700, files 0600,
 * every write a temp file plus rename so a crash never leaves half a JSON document behind.
 */
export interface StorePaths {
  dir: string
  authFile: string
  sessionsDir: string
  outboxDir: string
}

export function storePaths(configDir: string): StorePaths {
  return { dir: configDir, authFile: join(configDir, 'auth.json'), sessionsDir: join(configDir, 'sessions'), outboxDir: join(configDir, 'outbox') }
}

export async function ensurePrivateDir(dir: string): Promise<void> {
  ensurePrivateDirNow(dir)
}

function ensurePrivateDirNow(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // mkdir leaves an existing directory's mode alone; ours must not be readable by others.
  chmodSync(dir, 0o700)
}

/*
 * These files are small (under a few KB) and local, and are written without fsync: the calls below
 * are synchronous. Each asynchronous one was a trip through libuv's thread pool (writeFile alone is
 * open, write and close: three), and on a busy machine every trip waits for a thread and then for
 * the event loop to be woken: a hook event wrote three files and is answered only after them, and the
 * outbox reads its entries before sending (hook start to provider, docs/performance.md).
 */

/**
 * Directories this process made private already: mkdir + chmod run once per directory, not on every
 * write. A directory removed since is made again (the write fails with ENOENT).
 */
const privateDirs = new Set<string>()

export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const dir = dirname(file)
  if (!privateDirs.has(dir)) {
    ensurePrivateDirNow(dir)
    privateDirs.add(dir)
  }
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const text = `${JSON.stringify(value, null, 2)}\n`
  try {
    try {
      writeFileSync(temp, text, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
      ensurePrivateDirNow(dir)
      writeFileSync(temp, text, { mode: 0o600, flag: 'wx' })
    }
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}

/** The file's content when it exists and matches the schema; undefined when absent or unreadable. */
export async function readJson<S extends z.ZodType>(file: string, schema: S): Promise<z.infer<S> | undefined> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  try {
    const parsed = schema.safeParse(JSON.parse(text))
    return parsed.success ? parsed.data : undefined
  } catch {
    return undefined // a corrupt file is treated as absent; the next write replaces it
  }
}

export async function removeFile(file: string): Promise<void> {
  rmSync(file, { force: true })
}

/** Names of the *.json files in a directory (none when it does not exist), sorted. */
export async function listJson(dir: string): Promise<string[]> {
  try {
    return readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
}

// ---- the documents ------------------------------------------------------------------------------------

const Iso = z.string()

export const AuthFile = z.object({
  server_url: z.string(),
  access_token: z.string(),
  expires_at: Iso,
  phone: z.string(),
  paired_at: Iso,
  /** The pairing's absolute end (the server's TOKEN_FAMILY_MAX_DAYS): no refresh reaches past it. */
  pairing_expires_at: Iso.optional(),
})
export type AuthFile = z.infer<typeof AuthFile>

export const WaitingState = z.object({
  since: Iso,
  text: z.string().nullable(),
  notification_type: z.string().nullable(),
  /** A waiting text was already queued for this wait. */
  sent: z.boolean(),
  /** A PermissionRequest began this wait: what Claude wants to do (mcp/approvals.ts). */
  permission: z.object({ tool_name: z.string(), summary: z.string() }).nullable().optional(),
})
export type WaitingState = z.infer<typeof WaitingState>

/** What the waiting clock and the done rule need to remember between hook events (mcp/events.ts). */
export const ClockState = z.object({
  turn_started_at: Iso.nullable(),
  waiting: WaitingState.nullable(),
})
export type ClockState = z.infer<typeof ClockState>

export const SessionFile = z.object({
  claude_session_id: z.string(),
  monitoring_id: z.string(),
  session_token: z.string(),
  server_url: z.string(),
  description: z.string(),
  project: z.string().nullable(),
  hostname: z.string(),
  started_at: Iso,
  texts_sent: z.number().int(),
  events_queued: z.number().int(),
  last_event: z.object({ name: z.string(), at: Iso }).nullable(),
  clock: ClockState,
  /** Approvals by text: asked for at sms_start (or CLAUDE_SMS_APPROVALS) and granted by the server. */
  approvals: z.boolean().default(false),
  /** Asked for but not granted: why, in the person's words. */
  approvals_off_reason: z.string().nullable().default(null),
})
export type SessionFile = z.infer<typeof SessionFile>

export function sessionFilePath(paths: StorePaths, claudeSessionId: string): string {
  // Session ids are uuids; anything else is made safe for a file name.
  return join(paths.sessionsDir, `${claudeSessionId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`)
}
