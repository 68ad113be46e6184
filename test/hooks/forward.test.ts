import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createServer } from 'node:http'
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { HookEvent } from '../../mcp/events.js'
import { startHookEndpoint, type HookAnswer, type HookEndpoint } from '../../mcp/hook-endpoint.js'
import { createMcpLogger } from '../../mcp/log.js'
import { ensureOwnRunDir, processStartTime, runFilePath, writeRunFile } from '../../mcp/run-file.js'
import { until } from '../support/until.js'

/**
 * The hook command of hooks/hooks.json as Claude Code runs it (`sh -c`, the hook JSON on stdin,
 * CLAUDE_PID / CLAUDE_PLUGIN_DATA in its environment): hooks/deliver.sh with curl, and the node
 * forwarder hooks/forward.js where curl is missing, each in front of the MCP server's real hook
 * endpoint (mcp/hook-endpoint.ts) on a Unix socket, with the run files the MCP server writes.
 */
const FORWARDER = resolve('hooks/forward.js')
const HOOKS = JSON.parse(readFileSync('hooks/hooks.json', 'utf8')) as { hooks: Record<string, { hooks: { command: string; async?: boolean; timeout?: number }[] }[]> }
const COMMAND = HOOKS.hooks.PostToolUseFailure![0]!.hooks[0]!.command
const PERMISSION_HOOK = HOOKS.hooks.PermissionRequest![0]!.hooks[0]!
const CLAUDE_PID = '424242'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Endpoint extends HookEndpoint {
  received: HookEvent[]
  /** Resolves with each event as it arrives, before any answer. */
  arrivals: Promise<HookEvent>[]
}

/** The real hook endpoint; `answer` decides what each event gets (undefined: 204; 'hang': never answered). */
async function startEndpoint(
  dir: string,
  answer: (e: HookEvent, signal: AbortSignal) => HookAnswer | undefined | 'hang' | Promise<HookAnswer | undefined> = () => undefined,
): Promise<Endpoint> {
  const received: HookEvent[] = []
  let arrived!: (e: HookEvent) => void
  const arrivals = [new Promise<HookEvent>((r) => (arrived = r))]
  const endpoint = await startHookEndpoint({
    socketPath: join(dir, `${process.pid}.sock`),
    // As the MCP server: waiting hooks' answer FIFOs in the run directory (checked often here).
    pipeDir: dir,
    pipeProbeMs: 20,
    log: createMcpLogger('silent'),
    onEvent: async (event, signal) => {
      received.push(event)
      arrived(event)
      arrivals.push(new Promise<HookEvent>((r) => (arrived = r)))
      const a = answer(event, signal)
      return a === 'hang' ? new Promise<never>(() => {}) : a
    },
  })
  cleanups.push(() => endpoint.close())
  return Object.assign(endpoint, { received, arrivals })
}

/** A stand-in for the MCP server on the socket that answers whatever status and body it is told to. */
async function startRawEndpoint(dir: string, reply: { status: number; body?: string }): Promise<HookEndpoint> {
  const socketPath = join(dir, `${process.pid}-raw.sock`)
  const server = createServer(async (req, res) => {
    for await (const _ of req) void _
    res.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' })
    res.end(reply.body)
  })
  server.listen(socketPath)
  await once(server, 'listening')
  const close = () => new Promise<void>((r) => server.close(() => r()))
  cleanups.push(close)
  return { socketPath, token: 'raw-token', close }
}

/**
 * The plugin's folders: $CLAUDE_PLUGIN_DATA/run (0700) with the run files for CLAUDE_PID when the MCP
 * server runs, and $XDG_CONFIG_HOME/claude-sms-notifier/sessions with a saved session when one is monitored.
 */
interface Dirs {
  dataDir: string
  runDir: string
  configHome: string
}

async function pluginDirs(opts: { savedSession?: boolean } = {}): Promise<Dirs> {
  const base = mkdtempSync(join(tmpdir(), 'sms-hook-'))
  const dataDir = join(base, 'data')
  const runDir = join(dataDir, 'run')
  const configHome = join(base, 'config')
  await ensureOwnRunDir(runDir)
  const sessions = join(configHome, 'claude-sms-notifier', 'sessions')
  mkdirSync(sessions, { recursive: true, mode: 0o700 })
  if (opts.savedSession ?? true) writeFileSync(join(sessions, 'session-1.json'), '{}', { mode: 0o600 })
  return { dataDir, runDir, configHome }
}

async function writeRun(dirs: Dirs, endpoint: HookEndpoint, over: { token?: string; pid?: number } = {}) {
  const pid = over.pid ?? process.pid
  await writeRunFile(runFilePath(dirs.runDir, Number(CLAUDE_PID)), {
    socket: endpoint.socketPath,
    token: over.token ?? endpoint.token,
    pid,
    pid_start: processStartTime(pid),
    claude_pid: Number(CLAUDE_PID),
    session_id_at_spawn: 'session-1',
    started_at: new Date().toISOString(),
  })
}

/** A monitored session: saved session, MCP server endpoint, run files. */
async function monitored(answer?: Parameters<typeof startEndpoint>[1]) {
  const dirs = await pluginDirs()
  const endpoint = await startEndpoint(dirs.runDir, answer)
  await writeRun(dirs, endpoint)
  return { dirs, endpoint }
}

/**
 * A PATH of its own: `sh`, a `node` and (unless curl is false) a `curl` that record each start and then
 * run the real ones. Without curl, the hook command falls back to the node forwarder.
 */
function recordingPath(opts: { curl?: boolean } = {}): { path: string; starts: (name: 'node' | 'curl') => string[] } {
  const bin = mkdtempSync(join(tmpdir(), 'sms-path-'))
  symlinkSync('/bin/sh', join(bin, 'sh'))
  const tools: [string, string][] = [['node', process.execPath]]
  if (opts.curl ?? true) tools.push(['curl', '/usr/bin/curl'])
  for (const [name, real] of tools) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "$*" >> "${join(bin, `${name}.log`)}"\nexec "${real}" "$@"\n`)
    chmodSync(join(bin, name), 0o755)
  }
  const starts = (name: string) => (existsSync(join(bin, `${name}.log`)) ? readFileSync(join(bin, `${name}.log`), 'utf8').trim().split('\n') : [])
  return { path: bin, starts }
}
const pathWithoutCurl = () => recordingPath({ curl: false }).path

/** The names of the processes in a process group (a hook Claude Code started), from /proc. */
function groupOf(pgid: number): string[] {
  const names: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(after[2]) === pgid) names.push(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')))
    } catch {
      // Gone meanwhile.
    }
  }
  return names.sort()
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** The stdin write failed: the hook exited without reading its input. */
  stdinRefused: boolean
}

/**
 * Runs a hook the way Claude Code does: stdin piped, the event JSON written to it and closed (unless
 * keepStdinOpen), env limited to what a hook gets. By default the hooks.json command in `sh -c`.
 */
async function runHook(opts: {
  dirs: Dirs
  input?: string | Buffer
  keepStdinOpen?: boolean
  command?: string
  path?: string
  forwarder?: boolean
  home?: string
  /** In a process group of its own (as Claude Code runs hooks), whose pid is handed over. */
  onSpawn?: (pid: number) => void
}): Promise<Run> {
  const env = {
    PATH: opts.path ?? process.env.PATH,
    HOME: opts.home ?? process.env.HOME,
    CLAUDE_PID,
    CLAUDE_PLUGIN_DATA: opts.dirs.dataDir,
    XDG_CONFIG_HOME: opts.dirs.configHome,
    CLAUDE_PLUGIN_ROOT: resolve('.'),
    CLAUDE_CODE_SESSION_ID: 'session-1',
  }
  const child = opts.forwarder
    ? spawn(process.execPath, [FORWARDER], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn('/bin/sh', ['-c', opts.command ?? COMMAND], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: Boolean(opts.onSpawn) })
  if (opts.onSpawn && child.pid) opts.onSpawn(child.pid)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  let stdinRefused = false
  child.stdin.on('error', () => (stdinRefused = true))
  if (opts.input !== undefined) child.stdin.write(opts.input)
  if (!opts.keepStdinOpen) child.stdin.end()
  const [code] = (await once(child, 'close')) as [number | null]
  child.stdin.destroy()
  return { code, stdout, stderr, stdinRefused }
}

const postToolUseFailure = {
  session_id: 'session-1',
  transcript_path: '/tmp/t.jsonl',
  cwd: '/work/app',
  permission_mode: 'default',
  hook_event_name: 'PostToolUseFailure',
  tool_name: 'Bash',
  tool_input: { command: 'npm run migrate', description: 'Run the migrations' },
  tool_use_id: 'toolu_01',
  error: 'Exit code 1\nError: relation "users" does not exist',
  is_interrupt: false,
}
const permissionRequest = { session_id: 'session-1', cwd: '/work/app', hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'rm -rf build' } }
const decision = { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }

// The same guarantees over both transports: curl (the usual case) and the node forwarder (no curl).
describe.each([
  { transport: 'sh and curl', path: () => process.env.PATH },
  { transport: 'the node forwarder, where curl is missing', path: pathWithoutCurl },
])('a monitored session, through $transport', ({ path }) => {
  it('delivers the hook JSON from stdin to the MCP server, and prints nothing when it answers 204', async () => {
    const { dirs, endpoint } = await monitored()
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(endpoint.received).toEqual([postToolUseFailure])
  })

  it('prints exactly the decision the MCP server answers with (200, {"hookSpecificOutput"...)', async () => {
    const { dirs } = await monitored((e) => (e.hook_event_name === 'PermissionRequest' ? decision : undefined))
    const run = await runHook({ dirs, input: JSON.stringify(permissionRequest), path: path() })
    expect(run.code).toBe(0)
    // Byte for byte what the MCP server answered, as the node forwarder and curl alike print it.
    expect(run.stdout).toBe(JSON.stringify(decision))
  })

  it('prints nothing for a 200 that is not a decision', async () => {
    const { dirs } = await monitored(() => ({ hookSpecificOutput: undefined, other: 1 }) as unknown as HookAnswer)
    const run = await runHook({ dirs, input: JSON.stringify(permissionRequest), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
  })

  it('keeps the error of a failing tool whose input is too large to send, dropping the input', async () => {
    const { dirs, endpoint } = await monitored()
    const huge = { ...postToolUseFailure, tool_name: 'Write', tool_input: { file_path: '/w/big.txt', content: 'x'.repeat(2_000_000) }, error: 'EACCES: permission denied' }
    const run = await runHook({ dirs, input: JSON.stringify(huge), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(endpoint.received).toHaveLength(1)
    expect(endpoint.received[0]).toMatchObject({ tool_name: 'Write', error: 'EACCES: permission denied' })
    expect(JSON.stringify(endpoint.received[0])).not.toContain('xxxx')
  })

  it('a PermissionRequest hook waits past the 1 s of every other hook, then prints the decision', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const { dirs, endpoint } = await monitored((e) => (e.hook_event_name === 'PermissionRequest' ? released.then(() => decision) : 'hang'))
    const waiting = runHook({ dirs, input: JSON.stringify(permissionRequest), path: path(), command: PERMISSION_HOOK.command })
    await endpoint.arrivals[0]
    // Another hook, started after it, against a server that never answers: it gives up at its deadline.
    const other = await runHook({ dirs, input: JSON.stringify({ ...postToolUseFailure, hook_event_name: 'Stop' }), path: path() })
    expect(other).toMatchObject({ code: 0, stdout: '' })
    release()
    const run = await waiting
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual(decision)
  })

  it('the MCP server notices when a waiting PermissionRequest hook is killed (its connection or its FIFO closes)', async () => {
    let aborted!: () => void
    const noticed = new Promise<void>((r) => (aborted = r))
    const { dirs, endpoint } = await monitored((_e, signal) => {
      signal.addEventListener('abort', () => aborted())
      return 'hang'
    })
    let pid = 0
    const waiting = runHook({ dirs, input: JSON.stringify(permissionRequest), path: path(), command: PERMISSION_HOOK.command, onSpawn: (p) => (pid = p) })
    await endpoint.arrivals[0]
    // Claude Code ends a hook by signalling its process group (at its timeout, or when it exits).
    process.kill(-pid, 'SIGTERM')
    await noticed
    const run = await waiting
    expect(run.stdout).toBe('')
    expect(readdirSync(dirs.runDir).filter((n) => n.includes('.wait.'))).toEqual([])
  })

  it('a PermissionRequest hook prints nothing for a 204, a 200 that is not a decision, or an error carrying one', async () => {
    for (const reply of [{ status: 204 }, { status: 200, body: '{}' }, { status: 200, body: '{"decision":"block"}' }, { status: 200, body: ' {"hookSpecificOutput":{}}' }, { status: 500, body: JSON.stringify(decision) }]) {
      const dirs = await pluginDirs()
      const endpoint = await startRawEndpoint(dirs.runDir, reply)
      await writeRun(dirs, endpoint)
      const run = await runHook({ dirs, input: JSON.stringify(permissionRequest), path: path(), command: PERMISSION_HOOK.command })
      expect(run, JSON.stringify(reply)).toMatchObject({ code: 0, stdout: '' })
      if (reply.status === 500) expect(run.stderr, JSON.stringify(reply)).toMatch(/event not delivered/)
      else expect(run.stderr, JSON.stringify(reply)).toBe('')
    }
  })

  it('an ordinary event answered 204 prints nothing and reports no error', async () => {
    const { dirs } = await monitored()
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })

  it('exits 0 with nothing on stdout when the MCP server is gone', async () => {
    const { dirs, endpoint } = await monitored()
    await endpoint.close()
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(run.stderr).toMatch(/event not delivered/)
  })

  it('exits 0 with nothing on stdout when the MCP server refuses the token', async () => {
    const dirs = await pluginDirs()
    const endpoint = await startEndpoint(dirs.runDir)
    await writeRun(dirs, endpoint, { token: 'not-the-token' })
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(run.stderr).toMatch(/event not delivered.*401/)
    expect(endpoint.received).toEqual([])
  })

  it('gives up on a server that never answers within the 1.5 s SessionEnd budget, exiting 0', async () => {
    const { dirs, endpoint } = await monitored(() => 'hang')
    const started = performance.now()
    const ran = runHook({ dirs, input: JSON.stringify({ ...postToolUseFailure, hook_event_name: 'SessionEnd', reason: 'other' }), path: path() })
    await endpoint.arrivals[0]
    const run = await ran
    const heldFor = performance.now() - started
    expect(run).toMatchObject({ code: 0, stdout: '' })
    // The hook's own clock (1 s) starts after its spawn; what Claude Code waits is bounded by it.
    expect(heldFor).toBeLessThan(1500)
  })

  it('exits 0 when Claude Code never closes its input', async () => {
    const { dirs, endpoint } = await monitored()
    const run = await runHook({ dirs, input: '{"hook_event_name":"Stop"', keepStdinOpen: true, path: path() })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(endpoint.received).toEqual([])
  })
})

describe('an unmonitored session', () => {
  it('exits 0 without reading its input or connecting anywhere when no MCP server runs', async () => {
    const dirs = await pluginDirs()
    const endpoint = await startEndpoint(dirs.runDir)
    // More than a pipe buffer holds: the write only completes if the hook reads it.
    const run = await runHook({ dirs, input: Buffer.alloc(1 << 20, ' '), keepStdinOpen: true })
    expect(run).toMatchObject({ code: 0, stdinRefused: true, stdout: '', stderr: '' })
    expect(endpoint.received).toEqual([])
  })

  it('with the MCP server running but no session monitored or saved, exits 0 without reading its input', async () => {
    const dirs = await pluginDirs({ savedSession: false })
    const endpoint = await startEndpoint(dirs.runDir)
    await writeRun(dirs, endpoint)
    for (const path of [process.env.PATH, pathWithoutCurl()]) {
      const run = await runHook({ dirs, input: Buffer.alloc(1 << 20, ' '), keepStdinOpen: true, path })
      expect(run).toMatchObject({ code: 0, stdinRefused: true, stdout: '', stderr: '' })
    }
    expect(endpoint.received).toEqual([])
  })

  it('ignores a run file left by an MCP server that died; the node forwarder also removes it', async () => {
    const dirs = await pluginDirs()
    const endpoint = await startEndpoint(dirs.runDir)
    const dead = spawn(process.execPath, ['-e', '0'])
    await once(dead, 'exit')
    await writeRun(dirs, endpoint, { pid: dead.pid! })
    await endpoint.close() // its socket is gone with it
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure) })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    const forwarded = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), forwarder: true })
    expect(forwarded).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(readdirSync(dirs.runDir)).toEqual([])
    expect(endpoint.received).toEqual([])
  })
})

describe('hooks/hooks.json', () => {
  const commands = Object.entries(HOOKS.hooks).map(([event, groups]) => ({ event, hook: groups[0]!.hooks[0]! }))

  it('sends the events the notifier needs through deliver.sh; the failure, end and permission events wait for it', () => {
    expect(commands.map((c) => c.event).sort()).toEqual(['Notification', 'PermissionDenied', 'PermissionRequest', 'PostToolUse', 'PostToolUseFailure', 'SessionEnd', 'Stop', 'StopFailure', 'UserPromptSubmit'])
    for (const { event, hook } of commands) if (event !== 'PermissionRequest') expect(hook.command, event).toBe(COMMAND)
    expect(COMMAND).toMatch(/^\[ -f "\$CLAUDE_PLUGIN_DATA\/run\/\$\{CLAUDE_PID:-\$PPID\}\.json" \] \|\| exit 0; exec sh "\$CLAUDE_PLUGIN_ROOT\/hooks\/deliver\.sh" 1$/)
    expect(commands.filter((c) => !c.hook.async).map((c) => c.event).sort()).toEqual(['PermissionRequest', 'PostToolUseFailure', 'SessionEnd', 'StopFailure'])
    // The phone may answer long after the dialog came up: the hook may wait a day (Claude Code's limit is
    // the timeout given here, in seconds), and curl (or the node forwarder) gives up just before it, so
    // that Claude Code never has to kill it.
    expect(PERMISSION_HOOK.timeout).toBe(86_400)
    const maxTime = Number(/deliver\.sh" (\d+)$/.exec(PERMISSION_HOOK.command)?.[1])
    expect(PERMISSION_HOOK.command).toBe(COMMAND.replace(/ 1$/, ` ${maxTime}`))
    expect(maxTime).toBeLessThanOrEqual(86_400)
    expect(maxTime).toBeGreaterThanOrEqual(86_400 - 60)
  })

  it('costs an unmonitored session a shell test or two: neither node nor curl is started', async () => {
    const shims = recordingPath()
    const noServer = await pluginDirs()
    const nothingSaved = await pluginDirs({ savedSession: false })
    const endpoint = await startEndpoint(nothingSaved.runDir)
    await writeRun(nothingSaved, endpoint)
    for (const dirs of [noServer, nothingSaved]) {
      for (const { hook } of commands) {
        const run = await runHook({ dirs, command: hook.command, input: JSON.stringify(postToolUseFailure), path: shims.path })
        expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' })
      }
    }
    expect(shims.starts('node')).toEqual([])
    expect(shims.starts('curl')).toEqual([])
    expect(endpoint.received).toEqual([])
  })

  it('delivers a monitored session\'s event with curl alone: node never starts', async () => {
    const { dirs, endpoint } = await monitored()
    const shims = recordingPath()
    const input = { session_id: 'session-1', hook_event_name: 'SessionEnd', reason: 'other' }
    const run = await runHook({ dirs, command: commands.find((c) => c.event === 'SessionEnd')!.hook.command, input: JSON.stringify(input), path: shims.path })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(shims.starts('node')).toEqual([])
    expect(shims.starts('curl')).toHaveLength(1)
    // The token travels in the 0600 curl config, never on a command line that `ps` shows.
    expect(shims.starts('curl')[0]).not.toContain(endpoint.token)
    expect(shims.starts('curl')[0]).toContain('--max-time 1 ')
    expect(endpoint.received).toEqual([input])
  })

  it('sends a PermissionRequest with curl alone too, given its long time limit, and prints the decision', async () => {
    const { dirs, endpoint } = await monitored((e) => (e.hook_event_name === 'PermissionRequest' ? decision : undefined))
    const shims = recordingPath()
    const run = await runHook({ dirs, command: PERMISSION_HOOK.command, input: JSON.stringify(permissionRequest), path: shims.path })
    expect(run).toMatchObject({ code: 0, stdout: JSON.stringify(decision) })
    expect(shims.starts('node')).toEqual([])
    expect(shims.starts('curl')).toHaveLength(1)
    expect(shims.starts('curl')[0]).toContain(`--max-time ${/deliver\.sh" (\d+)$/.exec(PERMISSION_HOOK.command)![1]} `)
    expect(endpoint.received).toEqual([permissionRequest])
  })

  it('a PermissionRequest hook waits as a lone shell on a 0600 FIFO once curl has exited; the answer then reaches it', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const { dirs, endpoint } = await monitored((e) => (e.hook_event_name === 'PermissionRequest' ? released.then(() => decision) : undefined))
    let pid = 0
    const waiting = runHook({ dirs, input: JSON.stringify(permissionRequest), command: PERMISSION_HOOK.command, onSpawn: (p) => (pid = p) })
    await endpoint.arrivals[0]
    // What holds memory while the phone is awaited: one shell, blocked reading its FIFO; no curl, no node.
    await until(() => `the hook to be a lone shell (now: ${groupOf(pid).join(', ')})`, () => groupOf(pid).join() === 'sh', 10_000)
    const fifo = lstatSync(join(dirs.runDir, `${CLAUDE_PID}.wait.${pid}`))
    expect(fifo.isFIFO()).toBe(true)
    expect(fifo.mode & 0o777).toBe(0o600)
    release()
    const run = await waiting
    expect(run).toMatchObject({ code: 0, stdout: JSON.stringify(decision), stderr: '' })
    // The MCP server removed the FIFO when it answered.
    expect(readdirSync(dirs.runDir).filter((n) => n.includes('.wait.'))).toEqual([])
  })

  it('a waiting PermissionRequest hook exits 0 with nothing printed when the MCP server goes away, and its FIFO goes too', async () => {
    const { dirs, endpoint } = await monitored(() => 'hang')
    let pid = 0
    const waiting = runHook({ dirs, input: JSON.stringify(permissionRequest), command: PERMISSION_HOOK.command, onSpawn: (p) => (pid = p) })
    await endpoint.arrivals[0]
    await until('the hook to wait on its FIFO', () => groupOf(pid).join() === 'sh', 10_000)
    await endpoint.close()
    expect(await waiting).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(readdirSync(dirs.runDir).filter((n) => n.includes('.wait.'))).toEqual([])
  })

  it('the MCP server keeps a waiting hook\'s time limit: at its end the hook exits 0 with nothing printed', async () => {
    let aborted = false
    const { dirs } = await monitored((_e, signal) => {
      signal.addEventListener('abort', () => (aborted = true))
      return 'hang'
    })
    const run = await runHook({ dirs, input: JSON.stringify(permissionRequest), command: PERMISSION_HOOK.command.replace(/ \d+$/, ' 2') })
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' })
    expect(aborted).toBe(true)
    expect(readdirSync(dirs.runDir).filter((n) => n.includes('.wait.'))).toEqual([])
  })

  it('is not swayed by the person\'s ~/.curlrc (headers in the output, another address)', async () => {
    const { dirs } = await monitored((e) => (e.hook_event_name === 'PermissionRequest' ? decision : undefined))
    const home = mkdtempSync(join(tmpdir(), 'sms-home-'))
    writeFileSync(join(home, '.curlrc'), 'include\nunix-socket = "/nonexistent.sock"\n')
    const run = await runHook({ dirs, input: JSON.stringify(permissionRequest), home })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual(decision)
  })

  it('falls back to the node forwarder where curl is missing', async () => {
    const { dirs, endpoint } = await monitored()
    const shims = recordingPath({ curl: false })
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure), path: shims.path })
    expect(run).toMatchObject({ code: 0, stdout: '' })
    expect(shims.starts('node')).toEqual([`${FORWARDER} 1`])
    expect(endpoint.received).toEqual([postToolUseFailure])
  })
})
