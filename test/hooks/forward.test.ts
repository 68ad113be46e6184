import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

/**
 * The hook forwarder (hooks/forward.js) as Claude Code runs it: a process with the hook JSON on stdin
 * and CLAUDE_PID / CLAUDE_PLUGIN_DATA in its environment, delivering to a real HTTP server on
 * 127.0.0.1 standing in for the MCP server's hook endpoint.
 */
const FORWARDER = resolve('hooks/forward.js')
const HOOKS = JSON.parse(readFileSync('hooks/hooks.json', 'utf8')) as { hooks: Record<string, { hooks: { command: string; async?: boolean }[] }[]> }
const CLAUDE_PID = '424242'

interface Received {
  url: string
  authorization: string | undefined
  body: string
}

interface Endpoint {
  port: number
  received: Received[]
  /** Requests that arrived (resolved at arrival, before any answer). */
  arrivals: Promise<IncomingMessage>[]
  server: Server
  close(): Promise<void>
}

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

type Answer = 'ok' | 'unauthorized' | 'hang' | ((req: IncomingMessage, body: string) => Promise<{ status: number; body?: string } | 'hang'>)

async function startEndpoint(answer: Answer = 'ok'): Promise<Endpoint> {
  const received: Received[] = []
  const sockets = new Set<Socket>()
  let arrived!: (req: IncomingMessage) => void
  const arrivals = [new Promise<IncomingMessage>((r) => (arrived = r))]
  const server = createServer(async (req, res) => {
    arrived(req)
    arrivals.push(new Promise<IncomingMessage>((r) => (arrived = r)))
    let body = ''
    for await (const chunk of req) body += chunk
    received.push({ url: req.url ?? '', authorization: req.headers.authorization, body })
    if (typeof answer === 'function') {
      const reply = await answer(req, body)
      if (reply === 'hang') return
      res.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' })
      return res.end(reply.body)
    }
    if (answer === 'hang') return
    res.writeHead(answer === 'ok' ? 200 : 401, { 'content-type': 'application/json' })
    res.end(answer === 'ok' ? '{}' : '{"error":"unauthorized"}')
  })
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const endpoint: Endpoint = {
    port: (server.address() as AddressInfo).port,
    received,
    arrivals,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      }),
  }
  cleanups.push(endpoint.close)
  return endpoint
}

/**
 * The plugin's folders: $CLAUDE_PLUGIN_DATA with a run file for CLAUDE_PID when the MCP server runs, and
 * $XDG_CONFIG_HOME/claude-sms-notifier/sessions with a saved session when one is monitored.
 */
interface Dirs {
  dataDir: string
  configHome: string
}

function pluginDirs(run?: Record<string, unknown>, opts: { savedSession?: boolean } = {}): Dirs {
  const base = mkdtempSync(join(tmpdir(), 'sms-forward-'))
  const dataDir = join(base, 'data')
  const configHome = join(base, 'config')
  mkdirSync(dataDir, { recursive: true })
  if (run) {
    mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 })
    writeFileSync(join(dataDir, 'run', `${CLAUDE_PID}.json`), JSON.stringify(run), { mode: 0o600 })
  }
  const sessions = join(configHome, 'claude-sms-notifier', 'sessions')
  mkdirSync(sessions, { recursive: true, mode: 0o700 })
  if (opts.savedSession ?? Boolean(run)) writeFileSync(join(sessions, 'session-1.json'), '{}', { mode: 0o600 })
  return { dataDir, configHome }
}

const monitored = (endpoint: Endpoint, token = 'secret-token') => pluginDirs({ port: endpoint.port, token, pid: process.pid })

interface Run {
  code: number | null
  stdout: string
  stderr: string
  /** The stdin write failed: the forwarder exited without reading its input. */
  stdinRefused: boolean
}

/**
 * Runs a command the way Claude Code runs a hook: stdin piped, the event JSON written to it and
 * closed (unless keepStdinOpen), env limited to what a hook gets.
 */
async function runHook(opts: { dirs: Dirs; input?: string | Buffer; keepStdinOpen?: boolean; shellCommand?: string; path?: string }): Promise<Run> {
  const env = {
    PATH: opts.path ?? process.env.PATH,
    HOME: process.env.HOME,
    CLAUDE_PID,
    CLAUDE_PLUGIN_DATA: opts.dirs.dataDir,
    XDG_CONFIG_HOME: opts.dirs.configHome,
    CLAUDE_PLUGIN_ROOT: resolve('.'),
    CLAUDE_CODE_SESSION_ID: 'session-1',
  }
  const child = opts.shellCommand
    ? spawn('sh', ['-c', opts.shellCommand], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(process.execPath, [FORWARDER], { env, stdio: ['pipe', 'pipe', 'pipe'] })
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

describe('a monitored session', () => {
  it('posts the hook JSON from stdin to the MCP server with its token, and prints nothing', async () => {
    const endpoint = await startEndpoint()
    const input = JSON.stringify(postToolUseFailure)
    const run = await runHook({ dirs: monitored(endpoint), input })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    expect(endpoint.received).toEqual([{ url: '/hook', authorization: 'Bearer secret-token', body: input }])
  })

  it('keeps the error of a failing tool whose input is too large to send, dropping the input', async () => {
    const endpoint = await startEndpoint()
    const huge = { ...postToolUseFailure, tool_name: 'Write', tool_input: { file_path: '/w/big.txt', content: 'x'.repeat(2_000_000) }, error: 'EACCES: permission denied' }
    const run = await runHook({ dirs: monitored(endpoint), input: JSON.stringify(huge) })
    expect(run.code).toBe(0)
    const sent = JSON.parse(endpoint.received[0]!.body) as typeof huge
    expect(sent.error).toBe('EACCES: permission denied')
    expect(sent.tool_name).toBe('Write')
    expect(JSON.stringify(sent.tool_input)).not.toContain('xxxx')
    expect(endpoint.received[0]!.body.length).toBeLessThan(1_000_000)
  })
})

describe('a permission request (approvals by text)', () => {
  const permissionRequest = { ...postToolUseFailure, hook_event_name: 'PermissionRequest', tool_input: { command: 'npm run migrate' }, permission_suggestions: [] }
  const decision = JSON.stringify({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } })

  it('waits past the 1 s deadline of other hooks, then prints the decision the MCP server answered', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    const endpoint = await startEndpoint(async (_req, body) => {
      if (JSON.parse(body).hook_event_name !== 'PermissionRequest') return 'hang'
      await released
      return { status: 200, body: decision }
    })
    const dirs = monitored(endpoint)
    const waiting = runHook({ dirs, input: JSON.stringify(permissionRequest) })
    await endpoint.arrivals[0]
    // Another hook, started after it, against a server that never answers: it gives up at its deadline.
    const other = await runHook({ dirs, input: JSON.stringify({ ...postToolUseFailure, hook_event_name: 'Stop' }) })
    expect(other).toMatchObject({ code: 0, stdout: '' })
    release()
    expect(await waiting).toMatchObject({ code: 0, stdout: decision })
  })

  it('prints nothing when the answer is 204, or a 200 that is not a decision', async () => {
    for (const reply of [{ status: 204 }, { status: 200, body: '{}' }, { status: 200, body: '{"decision":"block"}' }, { status: 500, body: decision }]) {
      const endpoint = await startEndpoint(async () => reply)
      const run = await runHook({ dirs: monitored(endpoint), input: JSON.stringify(permissionRequest) })
      expect(run, JSON.stringify(reply)).toMatchObject({ code: 0, stdout: '' })
    }
  })

  it('an ordinary event answered 204 prints nothing and reports no error', async () => {
    const endpoint = await startEndpoint(async () => ({ status: 204 }))
    const run = await runHook({ dirs: monitored(endpoint), input: JSON.stringify(postToolUseFailure) })
    expect(run).toMatchObject({ code: 0, stdout: '', stderr: '' })
  })
})

describe('an unmonitored session', () => {
  it('exits 0 without reading its input or connecting anywhere', async () => {
    const endpoint = await startEndpoint()
    // More than a pipe buffer holds: the write only completes if the forwarder reads it.
    const run = await runHook({ dirs: pluginDirs(), input: Buffer.alloc(1 << 20, ' '), keepStdinOpen: true })
    expect(run.code).toBe(0)
    expect(run.stdinRefused).toBe(true)
    expect(run.stdout + run.stderr).toBe('')
    expect(endpoint.received).toEqual([])
  })

  it('with the MCP server running but no session monitored or saved, exits 0 without reading its input', async () => {
    const endpoint = await startEndpoint()
    const dirs = pluginDirs({ port: endpoint.port, token: 't', pid: process.pid }, { savedSession: false })
    const run = await runHook({ dirs, input: Buffer.alloc(1 << 20, ' '), keepStdinOpen: true })
    expect(run.code).toBe(0)
    expect(run.stdinRefused).toBe(true)
    expect(endpoint.received).toEqual([])
  })

  it('ignores a run file left by an MCP server that died', async () => {
    const endpoint = await startEndpoint()
    const dead = spawn(process.execPath, ['-e', '0'])
    await once(dead, 'exit')
    const run = await runHook({ dirs: pluginDirs({ port: endpoint.port, token: 't', pid: dead.pid }), input: JSON.stringify(postToolUseFailure) })
    expect(run.code).toBe(0)
    expect(endpoint.received).toEqual([])
  })
})

describe('when delivery fails, Claude Code never notices', () => {
  it('exits 0 with nothing on stdout when the MCP server is gone', async () => {
    const endpoint = await startEndpoint()
    const dirs = monitored(endpoint)
    await endpoint.close()
    const run = await runHook({ dirs, input: JSON.stringify(postToolUseFailure) })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/event not delivered/)
  })

  it('exits 0 when the MCP server refuses the token', async () => {
    const endpoint = await startEndpoint('unauthorized')
    const run = await runHook({ dirs: monitored(endpoint), input: JSON.stringify(postToolUseFailure) })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(/HTTP 401/)
  })

  it('gives up on a server that never answers within the 1.5 s SessionEnd budget, exiting 0', async () => {
    const endpoint = await startEndpoint('hang')
    const ran = runHook({ dirs: monitored(endpoint), input: JSON.stringify({ ...postToolUseFailure, hook_event_name: 'SessionEnd', reason: 'other' }) })
    const req = await endpoint.arrivals[0]!
    const arrivedAt = performance.now()
    await once(req.socket, 'close')
    const heldFor = performance.now() - arrivedAt
    const run = await ran
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    // The forwarder's own clock starts before the request; what Claude Code waits is bounded by it.
    expect(heldFor).toBeLessThan(1500)
  })

  it('exits 0 when Claude Code never closes its input', async () => {
    const endpoint = await startEndpoint()
    const run = await runHook({ dirs: monitored(endpoint), input: '{"hook_event_name":"Stop"', keepStdinOpen: true })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('')
    expect(endpoint.received).toEqual([])
  })
})

describe('hooks/hooks.json', () => {
  const commands = Object.entries(HOOKS.hooks).map(([event, groups]) => ({ event, hook: groups[0]!.hooks[0]! }))

  it('sends the events the notifier needs to the forwarder; the failure, end and permission events wait for it', () => {
    expect(commands.map((c) => c.event).sort()).toEqual(['Notification', 'PermissionDenied', 'PermissionRequest', 'PostToolUse', 'PostToolUseFailure', 'SessionEnd', 'Stop', 'StopFailure', 'UserPromptSubmit'])
    for (const { hook } of commands) expect(hook.command).toContain('hooks/forward.js')
    expect(commands.filter((c) => !c.hook.async).map((c) => c.event).sort()).toEqual(['PermissionRequest', 'PostToolUseFailure', 'SessionEnd', 'StopFailure'])
    // The phone may answer long after the dialog came up: the hook may wait a day (Claude Code's limit is
    // the timeout given here, in seconds).
    expect((commands.find((c) => c.event === 'PermissionRequest')!.hook as { timeout?: number }).timeout).toBe(86_400)
  })

  /** A `node` first on PATH that records each start, then runs the real one. */
  function recordingNode(): { path: string; starts: () => string[] } {
    const bin = mkdtempSync(join(tmpdir(), 'sms-node-shim-'))
    const log = join(bin, 'starts.log')
    writeFileSync(join(bin, 'node'), `#!/bin/sh\necho "$*" >> "${log}"\nexec "${process.execPath}" "$@"\n`)
    chmodSync(join(bin, 'node'), 0o755)
    return { path: `${bin}:${process.env.PATH}`, starts: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) }
  }

  it('costs an unmonitored session a shell test or two: node is never started', async () => {
    const endpoint = await startEndpoint()
    const node = recordingNode()
    const unmonitored = [pluginDirs(), pluginDirs({ port: endpoint.port, token: 't', pid: process.pid }, { savedSession: false })]
    for (const dirs of unmonitored) {
      for (const { hook } of commands) {
        const run = await runHook({ dirs, shellCommand: hook.command, input: JSON.stringify(postToolUseFailure), path: node.path })
        expect(run.code).toBe(0)
        expect(run.stdout + run.stderr).toBe('')
      }
    }
    expect(node.starts()).toEqual([])
    expect(endpoint.received).toEqual([])
  })

  it('starts the forwarder for a monitored session, which delivers the event', async () => {
    const endpoint = await startEndpoint()
    const node = recordingNode()
    const { hook } = commands.find((c) => c.event === 'SessionEnd')!
    const input = JSON.stringify({ session_id: 'session-1', hook_event_name: 'SessionEnd', reason: 'other' })
    const run = await runHook({ dirs: monitored(endpoint), shellCommand: hook.command, input, path: node.path })
    expect(run.code).toBe(0)
    expect(node.starts()).toEqual([FORWARDER])
    expect(endpoint.received.map((r) => r.body)).toEqual([input])
  })
})
