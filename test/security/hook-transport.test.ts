import { spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'

// Hook events carry prompts, tool input and output, and file contents. They travel from the hook
// command to the MCP server over a Unix socket in the 0700 run directory (or a 0700 mkdtemp directory
// when that path is too long for a socket). Here another local user plays the squatter: after the MCP
// server was killed with -9 and left its run file and socket behind, it tries to read, redirect or
// take over where hooks deliver, and listens wherever it can. It must receive nothing.

const NOBODY = 65534
const canBeAnotherUser = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0
const HOOK = (JSON.parse(readFileSync('hooks/hooks.json', 'utf8')) as { hooks: Record<string, { hooks: { command: string }[] }[]> }).hooks.PostToolUseFailure![0]!.hooks[0]!.command

const running: McpProcess[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close().catch(() => undefined)
})

/** Plugin folders readable by others up to the run directory, as a home directory often is. */
function sharedLookingDirs(pluginData?: string): PluginDirs {
  const dirs = pluginDirs()
  if (pluginData) {
    mkdirSync(pluginData, { recursive: true })
    dirs.pluginData = pluginData
  }
  for (let dir = dirs.pluginData; dir.startsWith(tmpdir()) && dir !== tmpdir(); dir = resolve(dir, '..')) chmodSync(dir, 0o755)
  chmodSync(dirs.config, 0o755)
  // A saved session: the hook command delivers (it skips delivery when nothing is monitored or saved).
  mkdirSync(join(dirs.config, 'claude-sms-notifier', 'sessions'), { recursive: true })
  writeFileSync(join(dirs.config, 'claude-sms-notifier', 'sessions', 'session-1.json'), '{}', { mode: 0o600 })
  return dirs
}

async function mcpIn(dirs: PluginDirs): Promise<McpProcess> {
  const p = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: 'http://127.0.0.1:9' } })
  running.push(p)
  return p
}

interface Squatter {
  /** What each attempt gave: 'ok' or the error code. */
  attempts: Record<string, string>
  /** Ends it; resolves with how many connections it received and what they sent. */
  stop(): Promise<{ connections: number; bytes: string }>
}

/**
 * A process of another user (uid 65534 through setpriv) that tries to read the run file, replace the
 * curl config, the socket or the run directory, then listens on the recorded socket path if it could
 * take it, on a socket of its own and on 127.0.0.1 (where the former TCP endpoint listened).
 */
async function startSquatter(run: { file: string; socket: string }): Promise<Squatter> {
  const script = `
    const fs = require('node:fs'), net = require('node:net'), path = require('node:path')
    const [runFile, socket] = process.argv.slice(1)
    const attempts = {}
    const attempt = (name, f) => { try { f(); attempts[name] = 'ok' } catch (e) { attempts[name] = e.code } }
    attempt('read the run file', () => fs.readFileSync(runFile))
    attempt('write the curl config', () => fs.writeFileSync(runFile.replace(/json$/, 'curl'), 'unix-socket = "/tmp/elsewhere"'))
    attempt('remove the socket', () => fs.unlinkSync(socket))
    attempt('replace the run directory', () => fs.renameSync(path.dirname(runFile), path.dirname(runFile) + '.old'))
    attempt('replace the socket directory', () => fs.renameSync(path.dirname(socket), path.dirname(socket) + '.old'))
    let connections = 0, bytes = ''
    const listen = (name, where) => new Promise((resolve) => {
      const server = net.createServer((s) => { connections++; s.on('data', (d) => (bytes += d)) })
      server.on('error', (e) => { attempts[name] = e.code; resolve() })
      server.listen(where, () => { attempts[name] = 'ok'; resolve() })
    })
    const own = fs.mkdtempSync('/tmp/squatter-')
    Promise.all([listen('listen on the recorded socket', socket), listen('listen on a socket of its own', own + '/hook.sock'), listen('listen on 127.0.0.1', { host: '127.0.0.1', port: 0 })])
      .then(() => console.log(JSON.stringify(attempts)))
    process.on('SIGTERM', () => { console.log(JSON.stringify({ connections, bytes })); process.exit(0) })
  `
  const child = spawn('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, '-e', script, run.file, run.socket], { stdio: ['ignore', 'pipe', 'inherit'], cwd: '/' })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const attempts = JSON.parse((await lines.next()).value as string) as Record<string, string>
  return {
    attempts,
    async stop() {
      child.kill('SIGTERM')
      const report = JSON.parse((await lines.next()).value as string) as { connections: number; bytes: string }
      await once(child, 'exit').catch(() => undefined)
      return report
    },
  }
}

/** The hooks.json command, as Claude Code runs it for this test process (it is the MCP server's parent). */
async function runHook(dirs: PluginDirs, event: Record<string, unknown>) {
  const child = spawn('/bin/sh', ['-c', HOOK], {
    env: { PATH: process.env.PATH, HOME: dirs.home, XDG_CONFIG_HOME: dirs.config, CLAUDE_PLUGIN_DATA: dirs.pluginData, CLAUDE_PLUGIN_ROOT: resolve('.'), CLAUDE_PID: String(process.pid) },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  // With nobody listening, curl gives up before reading its input: the write then fails with EPIPE.
  child.stdin.on('error', () => {})
  child.stdin.end(JSON.stringify({ session_id: 'session-1', cwd: '/work/app', ...event }))
  const [code] = (await once(child, 'close')) as [number | null]
  return { code, stdout }
}

const secretEvent = { hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'psql "postgres://admin:hunter2@db/prod"' }, error: 'FATAL: password authentication failed' }

describe.runIf(canBeAnotherUser)('the hook transport against another local user', () => {
  it('after a kill -9 leaves the run file and socket behind, another user can neither take them over nor receive a hook', async () => {
    const dirs = sharedLookingDirs()
    const mcp = await mcpIn(dirs)
    const run = mcp.runFile()!
    const runDir = join(dirs.pluginData, 'run')
    expect(lstatSync(runDir).mode & 0o777).toBe(0o700)
    expect(lstatSync(run.socket).isSocket()).toBe(true)
    // Delivered while the server is up (so what follows fails for the reason it names).
    expect(await mcp.hook({ hook_event_name: 'Stop' })).toEqual({ status: 204, body: '' })

    process.kill(mcp.pid, 'SIGKILL')
    await mcp.exited
    const file = join(runDir, `${process.pid}.json`)
    expect(existsSync(file) && existsSync(run.socket)).toBe(true)

    const squatter = await startSquatter({ file, socket: run.socket })
    try {
      expect(squatter.attempts).toEqual({
        'read the run file': 'EACCES',
        'write the curl config': 'EACCES',
        'remove the socket': 'EACCES',
        'replace the run directory': 'EACCES',
        'replace the socket directory': 'EACCES',
        'listen on the recorded socket': 'EACCES',
        'listen on a socket of its own': 'ok',
        'listen on 127.0.0.1': 'ok',
      })
      for (let i = 0; i < 3; i++) expect(await runHook(dirs, secretEvent)).toEqual({ code: 0, stdout: '' })
    } finally {
      expect(await squatter.stop()).toEqual({ connections: 0, bytes: '' })
    }

    // The next MCP server of this user removes run files whose server is gone (here one of another
    // Claude process, left beside the one it replaces).
    copyFileSync(file, join(runDir, '999999.json'))
    const next = await mcpIn(dirs)
    await next.waitForLog(/removed the run files of MCP servers that are gone/)
    expect(readdirSync(runDir).filter((n) => n.endsWith('.json'))).toEqual([`${process.pid}.json`])
    expect(next.runFile()!.pid).toBe(next.pid)
  })

  it('with a plugin data path too long for a socket, listens in a fresh 0700 directory of its own that another user cannot enter', async () => {
    const base = pluginDirs()
    const dirs = sharedLookingDirs(join(base.pluginData, 'a-very-long-plugin-data-directory-name'.repeat(3)))
    const mcp = await mcpIn(dirs)
    const run = mcp.runFile()!
    const socketDir = resolve(run.socket, '..')
    expect(socketDir.startsWith(join(tmpdir(), 'claude-sms-'))).toBe(true)
    expect(lstatSync(socketDir)).toMatchObject({ uid: process.getuid?.() })
    expect(lstatSync(socketDir).mode & 0o777).toBe(0o700)
    expect(await runHook(dirs, { hook_event_name: 'Stop' })).toEqual({ code: 0, stdout: '' })
    expect(await mcp.hook({ hook_event_name: 'Stop' })).toMatchObject({ status: 204 })

    process.kill(mcp.pid, 'SIGKILL')
    await mcp.exited
    const squatter = await startSquatter({ file: join(dirs.pluginData, 'run', `${process.pid}.json`), socket: run.socket })
    try {
      expect(squatter.attempts['listen on the recorded socket']).toBe('EACCES')
      expect(squatter.attempts['replace the socket directory']).toBe('EPERM') // /tmp is sticky: only the owner renames
      expect(await runHook(dirs, secretEvent)).toEqual({ code: 0, stdout: '' })
    } finally {
      expect(await squatter.stop()).toEqual({ connections: 0, bytes: '' })
    }
  })

  it('refuses a run directory that belongs to another user: no socket, no run file there, and says why', async () => {
    const dirs = sharedLookingDirs()
    const runDir = join(dirs.pluginData, 'run')
    mkdirSync(runDir, { mode: 0o777 })
    chownSync(runDir, NOBODY, NOBODY)
    const mcp = await mcpIn(dirs)
    await mcp.waitForLog(/hook events cannot be received: .*belongs to another user/)
    expect(readdirSync(runDir)).toEqual([])
    // The tools still answer.
    expect((await mcp.call('sms_status')).isError).toBe(false)
  })
})

describe('the hook socket on a clean stop', () => {
  it('is removed with its temporary directory, also when a newer process of the same Claude took over the run file', async () => {
    const base = pluginDirs()
    const dirs = { ...base, pluginData: join(base.pluginData, 'a-plugin-data-path-too-long-for-a-unix-socket'.repeat(3)) }
    mkdirSync(dirs.pluginData, { recursive: true })
    const first = await mcpIn(dirs)
    const firstSocket = first.runFile()!.socket
    const second = await mcpIn(dirs) // e.g. /reload-plugins: same Claude, a new MCP server
    const secondSocket = second.runFile()!.socket
    expect(second.runFile()!.pid).toBe(second.pid)
    expect(secondSocket).not.toBe(firstSocket)
    await first.close()
    expect(existsSync(resolve(firstSocket, '..'))).toBe(false)
    expect(second.runFile()!.pid).toBe(second.pid)
    expect(await second.hook({ hook_event_name: 'Stop' })).toMatchObject({ status: 204 })
    await second.close()
    expect(existsSync(resolve(secondSocket, '..'))).toBe(false)
    expect(readdirSync(join(dirs.pluginData, 'run'))).toEqual([])
  })
})
