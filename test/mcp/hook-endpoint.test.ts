import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { request } from 'node:http'
import { chownSync, closeSync, lstatSync, openSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { HookEvent } from '../../mcp/events.js'
import { MAX_BODY_BYTES, startHookEndpoint, type HookAnswer, type HookEndpoint } from '../../mcp/hook-endpoint.js'
import { createMcpLogger } from '../../mcp/log.js'
import {
  chooseSocketPath,
  curlConfigPath,
  ensureOwnRunDir,
  isServerRunning,
  processStartTime,
  removeRunFile,
  removeStaleRunFiles,
  runFilePath,
  SOCKET_PATH_MAX_BYTES,
  UnsafeRunDirectory,
  writeRunFile,
  type RunFile,
} from '../../mcp/run-file.js'
import { postToHookSocket } from '../support/hook-socket.js'

let endpoint: HookEndpoint | undefined
afterEach(async () => {
  await endpoint?.close()
  endpoint = undefined
})

const privateDir = () => mkdtempSync(join(tmpdir(), 'hook-run-'))

async function start(answer?: (e: HookEvent) => HookAnswer | undefined) {
  const events: HookEvent[] = []
  const dir = privateDir()
  endpoint = await startHookEndpoint({ socketPath: join(dir, 'h.sock'), log: createMcpLogger('silent'), onEvent: async (e) => (events.push(e), answer?.(e)) })
  const post = (body: unknown, auth: string | null = `Bearer ${endpoint!.token}`) =>
    postToHookSocket(endpoint!.socketPath, typeof body === 'string' ? body : JSON.stringify(body), { authorization: auth ?? undefined, headers: { 'content-type': 'application/json' } })
  return { events, post }
}

const stop = { session_id: 's1', transcript_path: '/t.jsonl', cwd: '/w', hook_event_name: 'Stop', last_assistant_message: 'done' }

describe('the hook endpoint', () => {
  it('takes the hook JSON with the bearer token and answers 204: nothing for the hook to print', async () => {
    const { events, post } = await start()
    expect(await post(stop)).toEqual({ status: 204, body: '' })
    expect(events).toMatchObject([{ hook_event_name: 'Stop', last_assistant_message: 'done', transcript_path: '/t.jsonl' }])
  })

  it('answers 200 with exactly the JSON the hook must print when the event gets a decision', async () => {
    const decision = { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }
    const { post } = await start((e) => (e.hook_event_name === 'PermissionRequest' ? decision : undefined))
    const res = await post({ ...stop, hook_event_name: 'PermissionRequest', tool_name: 'Bash' })
    expect(res.status).toBe(200)
    expect(res.body).toBe(JSON.stringify(decision))
    expect((await post(stop)).status).toBe(204)
  })

  it('refuses requests without the token, or with another one: 401 and nothing recorded', async () => {
    const { events, post } = await start()
    expect((await post(stop, null)).status).toBe(401)
    expect((await post(stop, 'Bearer not-the-token')).status).toBe(401)
    expect((await post(stop, endpoint!.token)).status).toBe(401)
    expect(events).toEqual([])
  })

  it('answers bad bodies with 400 and keeps running', async () => {
    const { events, post } = await start()
    expect((await post('{not json')).status).toBe(400)
    expect((await post({ session_id: 's1' })).status).toBe(400)
    expect((await post(stop)).status).toBe(204)
    expect(events).toHaveLength(1)
  })

  it('tells the event\'s handler when the hook went away before its answer (its connection closed)', async () => {
    let aborted!: () => void
    let arrived!: () => void
    const gone = new Promise<void>((r) => (aborted = r))
    const held = new Promise<void>((r) => (arrived = r))
    endpoint = await startHookEndpoint({
      socketPath: join(privateDir(), 'h.sock'),
      log: createMcpLogger('silent'),
      onEvent: (_e, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => (aborted(), resolve(undefined)))
          arrived()
        }),
    })
    const req = request({ socketPath: endpoint.socketPath, path: '/hook', method: 'POST', headers: { host: 'localhost', authorization: `Bearer ${endpoint.token}` } })
    const failed = once(req, 'error')
    req.end(JSON.stringify({ ...stop, hook_event_name: 'PermissionRequest' }))
    await held
    req.destroy()
    await gone
    expect(await failed).toBeDefined()
  })

  it('keeps the error of a failing tool whose hook JSON is over 1 MB, dropping the bulky input', async () => {
    const { events, post } = await start()
    const huge = { ...stop, hook_event_name: 'PostToolUseFailure', tool_name: 'Write', tool_input: { file_path: '/w/big.txt', content: 'x'.repeat(3_000_000) }, error: 'EACCES: permission denied' }
    expect(JSON.stringify(huge).length).toBeGreaterThan(MAX_BODY_BYTES)
    expect((await post(huge)).status).toBe(204)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ hook_event_name: 'PostToolUseFailure', tool_name: 'Write', error: 'EACCES: permission denied' })
    expect(JSON.stringify(events[0]).length).toBeLessThan(10_000)
  })
})

describe('an answer FIFO named by a waiting hook', () => {
  const decision = { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }
  const permission = { ...stop, hook_event_name: 'PermissionRequest', tool_name: 'Bash' }

  it('is used only when it is a FIFO of this run directory that a hook holds open: otherwise the answer comes over HTTP', async () => {
    const dir = privateDir()
    endpoint = await startHookEndpoint({ socketPath: join(dir, 'h.sock'), pipeDir: dir, log: createMcpLogger('silent'), onEvent: async () => decision })
    const elsewhere = privateDir()
    spawnSync('mkfifo', ['-m', '600', join(elsewhere, 'fifo')])
    // Held open (read and write) here, so that only the link, not a missing reader, keeps it unused.
    const held = openSync(join(elsewhere, 'fifo'), 'r+')
    symlinkSync(join(elsewhere, 'fifo'), join(dir, '1.wait.2'))
    writeFileSync(join(dir, '1.wait.3'), '', { mode: 0o600 })
    spawnSync('mkfifo', ['-m', '600', join(dir, '1.wait.4')]) // nobody reads it
    spawnSync('mkfifo', ['-m', '600', join(elsewhere, '1.wait.5')])
    for (const name of ['1.wait.2', '1.wait.3', '1.wait.4', '../' + elsewhere.split('/').pop() + '/1.wait.5', 'h.sock', '1.wait.6']) {
      const res = await postToHookSocket(endpoint.socketPath, JSON.stringify(permission), {
        authorization: `Bearer ${endpoint.token}`,
        headers: { 'content-type': 'application/json', 'x-answer-pipe': name, 'x-answer-within': '60' },
      })
      expect(res, name).toEqual({ status: 200, body: JSON.stringify(decision) })
    }
    // Nothing was written to, followed or removed.
    expect(readdirSync(dir).sort()).toEqual(['1.wait.2', '1.wait.3', '1.wait.4', 'h.sock'])
    expect(readFileSync(join(dir, '1.wait.3'), 'utf8')).toBe('')
    expect(lstatSync(join(dir, '1.wait.2')).isSymbolicLink()).toBe(true)
    closeSync(held)
  })
})

const runContent = (over: Partial<RunFile> = {}): RunFile => ({
  socket: '/tmp/x.sock',
  token: 't',
  pid: process.pid,
  pid_start: processStartTime(process.pid),
  claude_pid: 4242,
  session_id_at_spawn: 's1',
  started_at: new Date().toISOString(),
  ...over,
})

describe('the run file', () => {
  it('is written 0600 under run/<claude pid>.json with its curl config beside it, and removed only by its own process', async () => {
    const dir = join(privateDir(), 'run')
    await ensureOwnRunDir(dir)
    const file = runFilePath(dir, 4242)
    const content = runContent({ socket: join(dir, `${process.pid}.sock`) })
    await writeRunFile(file, content)
    expect(readdirSync(dir).sort()).toEqual(['4242.curl', '4242.json'])
    for (const f of [file, curlConfigPath(file)]) expect(statSync(f).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(content)
    const curl = readFileSync(curlConfigPath(file), 'utf8')
    expect(curl).toContain(`unix-socket = "${content.socket}"`)
    expect(curl).toContain('header = "Authorization: Bearer t"')
    // A newer MCP server process of the same Claude wrote its own: the old one leaves it alone.
    await writeRunFile(file, { ...content, pid: process.pid + 1 })
    await removeRunFile(file)
    expect(readdirSync(dir).sort()).toEqual(['4242.curl', '4242.json'])
    await removeRunFile(file, process.pid + 1)
    expect(readdirSync(dir)).toEqual([])
  })

  it('lives in a directory made 0700, and one that is a link or another user\'s is refused', async () => {
    const base = privateDir()
    const loose = join(base, 'loose')
    mkdirSync(loose, { mode: 0o755 })
    await ensureOwnRunDir(loose)
    expect(statSync(loose).mode & 0o777).toBe(0o700)

    const link = join(base, 'link')
    symlinkSync(loose, link)
    await expect(ensureOwnRunDir(link)).rejects.toThrow(UnsafeRunDirectory)

    if (process.getuid?.() === 0) {
      const theirs = join(base, 'theirs')
      mkdirSync(theirs, { mode: 0o700 })
      chownSync(theirs, 65534, 65534)
      await expect(ensureOwnRunDir(theirs)).rejects.toThrow(/belongs to another user/)
    }
  })

  it('puts the socket in the run directory, or in a fresh 0700 directory under the temp dir when that path is too long', async () => {
    const short = join(privateDir(), 'run')
    await ensureOwnRunDir(short)
    expect(await chooseSocketPath(short, 123)).toBe(join(short, '123.sock'))

    const long = join(privateDir(), 'p'.repeat(100), 'run')
    await ensureOwnRunDir(long)
    const socket = await chooseSocketPath(long, 123)
    expect(Buffer.byteLength(socket)).toBeLessThanOrEqual(SOCKET_PATH_MAX_BYTES)
    expect(socket.startsWith(join(tmpdir(), 'claude-sms-'))).toBe(true)
    const fallback = lstatSync(join(socket, '..'))
    expect(fallback.isDirectory()).toBe(true)
    expect(fallback.mode & 0o777).toBe(0o700)
    expect(fallback.uid).toBe(process.getuid?.())
    // It is recorded in the run file, and goes with it.
    const file = runFilePath(long, 4242)
    await writeRunFile(file, runContent({ socket }))
    writeFileSync(socket, '') // stands for the socket: only a socket is removed
    await removeRunFile(file)
    expect(readdirSync(long)).toEqual([])
  })
})

describe('a run file whose MCP server is gone', () => {
  it('is told apart from a live one: dead pid, a pid reused by another user (EPERM), or by a later process of this user', async () => {
    expect(isServerRunning(runContent())).toBe(true)
    const dead = spawn(process.execPath, ['-e', '0'])
    await once(dead, 'exit')
    expect(isServerRunning(runContent({ pid: dead.pid! }))).toBe(false)
    expect(isServerRunning(runContent({ pid_start: '1' }))).toBe(false) // this pid, but started at another time
    if (process.getuid?.() === 0) {
      // kill(pid, 0) on another user's process fails with EPERM only for an unprivileged sender; as root
      // it succeeds, and the start time tells the two processes apart.
      const theirs = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '30'])
      try {
        await once(theirs, 'spawn')
        expect(isServerRunning(runContent({ pid: theirs.pid!, pid_start: '1' }))).toBe(false)
      } finally {
        theirs.kill()
      }
    }
  })

  it.runIf(process.getuid?.() === 0)('as seen by an unprivileged user, EPERM counts as gone unless the start time matches', () => {
    // The check runs as uid 65534 (built code, build/mcp/run-file.js) on this root process's pid.
    const check = (run: Pick<RunFile, 'pid' | 'pid_start'>) =>
      spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', `import('${join(process.cwd(), 'build/mcp/run-file.js')}').then((m) => process.stdout.write(String(m.isServerRunning(${JSON.stringify(run)}))))`], { encoding: 'utf8' }).stdout
    expect(check({ pid: process.pid, pid_start: null })).toBe('false')
    expect(check({ pid: process.pid, pid_start: '1' })).toBe('false')
    expect(check({ pid: process.pid, pid_start: processStartTime(process.pid) })).toBe('true')
  })

  it('is removed with its curl config and its hooks\' answer FIFOs by the next MCP server to start; live ones stay', async () => {
    const dir = join(privateDir(), 'run')
    await ensureOwnRunDir(dir)
    const dead = spawn(process.execPath, ['-e', '0'])
    await once(dead, 'exit')
    await writeRunFile(runFilePath(dir, 1111), runContent({ pid: dead.pid!, claude_pid: 1111 }))
    await writeRunFile(runFilePath(dir, 2222), runContent({ claude_pid: 2222 }))
    for (const name of ['1111.wait.77', '2222.wait.78', '11110.wait.79']) spawnSync('mkfifo', ['-m', '600', join(dir, name)])
    expect(await removeStaleRunFiles(dir)).toEqual(['1111.json'])
    expect(readdirSync(dir).sort()).toEqual(['11110.wait.79', '2222.curl', '2222.json', '2222.wait.78'])
  })
})
