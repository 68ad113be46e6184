import { randomBytes } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { lstat, rm, rmdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { z } from 'zod'
import { readJson, removeFile, writeJsonAtomic } from './store.js'

/**
 * How a hook command finds this session's MCP server (DESIGN §3): $CLAUDE_PLUGIN_DATA/run/<claude
 * pid>.json names the Unix socket the server listens on and its token, and <claude pid>.curl says the
 * same as a curl config file (hooks/deliver.sh runs `curl --config` on it; the token never shows in a
 * process list). The run directory is 0700 and this user's, checked at every start: nobody else can
 * put a socket or a run file there, so a run file left by a crashed server cannot be taken over.
 */
export const RunFile = z.object({
  socket: z.string(),
  token: z.string(),
  pid: z.number().int(),
  /** The server's start time (Linux /proc/<pid>/stat field 22), so a reused pid is not taken for it. */
  pid_start: z.string().nullable(),
  claude_pid: z.number().int(),
  session_id_at_spawn: z.string().nullable(),
  started_at: z.string(),
})
export type RunFile = z.infer<typeof RunFile>

/** sun_path holds 108 bytes on Linux and 104 on macOS and the BSDs, the terminating NUL included. */
export const SOCKET_PATH_MAX_BYTES = process.platform === 'linux' ? 107 : 103

export class UnsafeRunDirectory extends Error {
  override name = 'UnsafeRunDirectory'
}

export function runFilePath(runDir: string, claudePid: number): string {
  return join(runDir, `${claudePid}.json`)
}

export const curlConfigPath = (runFile: string) => runFile.replace(/\.json$/, '.curl')

/**
 * Creates the directory 0700 if needed and refuses it unless it is a real directory (not a link),
 * owned by this user, with no access for others once made 0700.
 */
export async function ensureOwnRunDir(dir: string): Promise<void> {
  // Synchronous, as the other start-up file work here: each call takes microseconds, and a round trip
  // through the thread pool for each would delay the MCP server's first answer (docs/performance.md).
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const before = lstatSync(dir)
  const uid = process.getuid?.()
  if (!before.isDirectory()) throw new UnsafeRunDirectory(`${dir} is not a directory (a link or a file): refusing to put the hook socket there`)
  if (uid !== undefined && before.uid !== uid) throw new UnsafeRunDirectory(`${dir} belongs to another user (uid ${before.uid}): refusing to put the hook socket there`)
  if ((before.mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
  const after = lstatSync(dir)
  if ((after.mode & 0o077) !== 0) throw new UnsafeRunDirectory(`${dir} could not be made private (mode ${(after.mode & 0o777).toString(8)})`)
}

/**
 * Where this process listens: <runDir>/<pid>.sock when the path fits in sun_path, else a fresh 0700
 * directory of this user made by mkdtemp under $TMPDIR or /tmp (CLAUDE_PLUGIN_DATA can be long),
 * recorded in the run file. mkdtemp picks an unguessable name and fails rather than reuse a path.
 */
export async function chooseSocketPath(runDir: string, pid = process.pid, tempDirs: string[] = [tmpdir(), '/tmp']): Promise<string> {
  const inRunDir = join(runDir, `${pid}.sock`)
  if (fits(inRunDir)) {
    // Left by an earlier process that had this pid (the directory is ours: nobody else put it there).
    rmSync(inRunDir, { force: true })
    return inRunDir
  }
  for (const base of tempDirs) {
    if (!fits(join(base, 'claude-sms-XXXXXX', 'hook.sock'))) continue
    const dir = mkdtempSync(join(base, 'claude-sms-'))
    await ensureOwnRunDir(dir)
    return join(dir, 'hook.sock')
  }
  throw new UnsafeRunDirectory(`no directory short enough for a Unix socket (${SOCKET_PATH_MAX_BYTES} bytes): set TMPDIR to a short path`)
}

const fits = (path: string) => Buffer.byteLength(path) <= SOCKET_PATH_MAX_BYTES

/** Curl config syntax: a double-quoted string takes \\ and \" escapes. */
const curlQuoted = (value: string) => `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`

/** Writes <claude pid>.curl, then <claude pid>.json (the file hooks test for), each 0600 and atomic. */
export async function writeRunFile(file: string, content: RunFile): Promise<void> {
  const config = [
    '# claude-sms-notifier: where hooks/deliver.sh sends this session\'s hook events (curl --config)',
    `unix-socket = ${curlQuoted(content.socket)}`,
    'url = "http://localhost/hook"',
    `header = ${curlQuoted(`Authorization: Bearer ${content.token}`)}`,
    'header = "Content-Type: application/json"',
    '',
  ].join('\n')
  const curlFile = curlConfigPath(file)
  const temp = `${curlFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  writeFileSync(temp, config, { mode: 0o600, flag: 'wx' })
  renameSync(temp, curlFile)
  await writeJsonAtomic(file, content)
}

/**
 * Removes the run files and the socket unless a newer MCP server process of the same Claude replaced
 * them, and the answer FIFOs its waiting hooks made (`<claude pid>.wait.<hook pid>`, hooks/deliver.sh;
 * the server removes each when it answers, so only those of a server that died are left).
 */
export async function removeRunFile(file: string, pid = process.pid): Promise<void> {
  const current = await readJson(file, RunFile)
  if (current && current.pid !== pid) return
  await removeFile(file)
  await removeFile(curlConfigPath(file))
  if (current) await removeSocket(current.socket, dirname(file))
  const pipes = `${basename(file, '.json')}.wait.`
  let names: string[] = []
  try {
    names = readdirSync(dirname(file)).filter((n) => n.startsWith(pipes))
  } catch {
    // The run directory is gone: nothing left to remove.
  }
  for (const name of names) rmSync(join(dirname(file), name), { force: true })
}

/** The socket file, and the mkdtemp directory around it when it was not in the run directory. */
export async function removeSocket(socket: string, runDir: string): Promise<void> {
  const stat = await lstat(socket).catch(() => undefined)
  if (stat?.isSocket()) await rm(socket, { force: true })
  const dir = dirname(socket)
  if (dir !== runDir && basename(dir).startsWith('claude-sms-')) await rmdir(dir).catch(() => undefined)
}

/**
 * Removes the run files of MCP servers that are gone (killed with -9, out of memory): their sockets
 * no longer answer, and a hook of a Claude process whose server died then exits at its first test.
 */
export async function removeStaleRunFiles(runDir: string, isRunning: (run: RunFile) => boolean = isServerRunning): Promise<string[]> {
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(runDir).filter((n) => n.endsWith('.json'))
  } catch {
    return removed
  }
  for (const name of names) {
    const file = join(runDir, name)
    const run = await readJson(file, RunFile).catch(() => undefined)
    if (!run || isRunning(run)) continue
    await removeRunFile(file, run.pid)
    removed.push(name)
  }
  return removed
}

/**
 * kill(pid, 0) succeeds for a live process of this user. EPERM means the pid belongs to another
 * user's process, which the MCP server (run by this user) is not, unless its start time says it is
 * the very process that wrote the run file. A pid reused by a process of this user is told apart by
 * its start time too, where /proc gives it (Linux; elsewhere the check is skipped).
 */
export function isServerRunning(run: Pick<RunFile, 'pid' | 'pid_start'>): boolean {
  let otherUser = false
  try {
    process.kill(run.pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
    otherUser = true
  }
  const start = run.pid_start === null ? null : processStartTime(run.pid)
  if (otherUser) return start !== null && start === run.pid_start
  return start === null || start === run.pid_start
}

/** /proc/<pid>/stat field 22 (starttime, clock ticks since boot); null where there is no /proc. */
export function processStartTime(pid: number): string | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // Field 2 (comm) is in parentheses and may contain spaces: count from the last ')'. It is field 2,
  // so the fields after it start at 3, and starttime (22) is the 20th of them.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
}
