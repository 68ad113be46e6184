import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'
import { writePairing } from '../support/plugin-pairing.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

// The hook as Claude Code runs it (the shell command of hooks/hooks.json, which execs hooks/deliver.sh:
// sh and curl to the MCP server's Unix socket), in front of a real MCP server process (dist/mcp/main.js) that then hangs
// (SIGSTOP) or dies (kill -9). Claude Code must never notice: exit 0, nothing on stdout, promptly.

const HOOKS = JSON.parse(readFileSync('hooks/hooks.json', 'utf8')) as { hooks: Record<string, { hooks: { command: string; timeout?: number }[] }[]> }
const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'hook-forwarder' }))
let dirs: PluginDirs
let mcp: McpProcess

beforeAll(async () => {
  const phone = testPhone()
  const { accessToken } = await pairedUser(db.sql, server.config, { phone })
  dirs = pluginDirs()
  writePairing(dirs, server.url, accessToken, phone)
  mcp = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: server.url } })
  expect((await mcp.call('sms_start', { description: 'release build' })).isError).toBe(false)
})
afterAll(async () => {
  await mcp?.close()
})

/** Runs the hook command of `event` with its stdin JSON; resolves with how it ended. */
async function runHook(event: string, input: Record<string, unknown>) {
  const hook = HOOKS.hooks[event]![0]!.hooks[0]!
  const child = spawn('sh', ['-c', hook.command], {
    env: {
      PATH: process.env.PATH,
      HOME: dirs.home,
      XDG_CONFIG_HOME: dirs.config,
      CLAUDE_PLUGIN_DATA: dirs.pluginData,
      CLAUDE_PLUGIN_ROOT: resolve('.'),
      CLAUDE_PID: String(process.pid), // the MCP server's parent: this test process plays Claude Code
      CLAUDE_CODE_SESSION_ID: 'session-1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  // With nobody listening, curl gives up before reading its input: the write then fails with EPIPE.
  child.stdin.on('error', () => {})
  child.stdin.end(JSON.stringify({ session_id: 'session-1', transcript_path: '/tmp/t.jsonl', cwd: '/work/app', hook_event_name: event, ...input }))
  // Claude Code kills a hook after its timeout; the forwarder must end well before.
  const killAfter = setTimeout(() => child.kill('SIGKILL'), (hook.timeout ?? 5) * 1000)
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null]
  clearTimeout(killAfter)
  return { code, signal, stdout }
}

const eventsStored = async () => (await db.sql<{ n: number }[]>`select count(*)::int as n from session_events`)[0]!.n

describe('the hook forwarder in front of a real MCP server', () => {
  it('delivers while the MCP server is well (so the cases below fail for the reason they name)', async () => {
    const run = await runHook('PostToolUseFailure', { tool_name: 'Bash', tool_input: { command: 'make' }, error: 'make: *** [all] Error 2' })
    expect(run).toEqual({ code: 0, signal: null, stdout: '' })
    await mcp.waitForLog(/outbox entry delivered/)
    expect(await eventsStored()).toBe(1)
  })

  it('exits 0, with nothing on stdout, within the hook timeout when the MCP server hangs', async () => {
    process.kill(mcp.pid, 'SIGSTOP')
    try {
      for (const [event, input] of [
        ['SessionEnd', { reason: 'other' }],
        ['StopFailure', { error: 'overloaded' }],
        ['Stop', { last_assistant_message: 'Done.' }],
      ] as const) {
        expect(await runHook(event, input), event).toEqual({ code: 0, signal: null, stdout: '' })
      }
    } finally {
      process.kill(mcp.pid, 'SIGCONT')
    }
  })

  it('exits 0, with nothing on stdout, when the MCP server was killed with -9 and left its run file', async () => {
    process.kill(mcp.pid, 'SIGKILL')
    await mcp.exited
    expect(mcp.runFile()).toBeDefined()
    expect(await runHook('PostToolUseFailure', { tool_name: 'Bash', error: 'after the crash' })).toEqual({ code: 0, signal: null, stdout: '' })
    expect(await runHook('SessionEnd', { reason: 'other' })).toEqual({ code: 0, signal: null, stdout: '' })
  })
})
