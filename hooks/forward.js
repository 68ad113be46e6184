#!/usr/bin/env node
// Forwards one Claude Code hook event to this session's SMS notifier (the plugin's MCP server).
//
// Claude Code runs this for every registered hook event (hooks/hooks.json), so it must never slow or
// break a session: it prints nothing on stdout (stdout of some hooks becomes Claude's context), exits
// 0 whatever happens (another code would surface as a hook error), and gives up after DEADLINE_MS
// (SessionEnd hooks share a 1.5 s budget). Plain JavaScript with no dependencies and no build step:
// it runs from the plugin folder exactly as committed.
//
// One exception: a PermissionRequest hook waits (up to the hook's own timeout in hooks.json) while the
// MCP server finds out whether the person answers from the phone. When the answer is a 200 whose body is
// a decision ({"hookSpecificOutput": ...}), that body is printed on stdout for Claude Code; a 204, or
// anything else, prints nothing and the terminal's dialog decides.
//
// The MCP server, a direct child of Claude Code, writes $CLAUDE_PLUGIN_DATA/run/<Claude's pid>.json
// ({port, token, pid}) and removes it on exit (DESIGN §3, docs/mcp-server.md). Claude Code gives hooks
// that pid as CLAUDE_PID (2.1.214+). The MCP server ignores the events of a session nobody monitors,
// unless a saved session (~/.config/claude-sms-notifier/sessions/*.json) could be resumed by them. So
// with no run file, or no saved session at all, the forwarder exits before reading its input.
// hooks/hooks.json makes the same two checks in sh, so that in the usual case node never starts.

import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'

const DEADLINE_MS = 1000
// hooks.json gives the PermissionRequest hook 86400 s; Claude Code kills it then, this is a backstop.
const PERMISSION_DEADLINE_MS = 86_400_000
// The MCP server's hook endpoint refuses bodies over 1 MB; a failing Write of a large file must still
// be reported, so the bulky tool input is dropped and the error kept.
const MAX_BODY_BYTES = 900_000

// Whatever is still pending at the deadline (a hung server, stdin never closed) is abandoned.
let deadline = setTimeout(() => process.exit(0), DEADLINE_MS)
deadline.unref()

const target = findMonitoringServer(process.env)
if (!target || !anySavedSession(process.env)) process.exit(0)

try {
  const body = await readEventBody()
  if (body) {
    const waitsForDecision = isPermissionRequest(body)
    if (waitsForDecision) {
      clearTimeout(deadline)
      deadline = setTimeout(() => process.exit(0), PERMISSION_DEADLINE_MS)
    }
    const decision = await deliver(target, body, waitsForDecision ? 0 : DEADLINE_MS)
    if (decision) await new Promise((resolve) => process.stdout.write(decision, resolve))
  }
} catch (error) {
  // Claude Code shows hook stderr only in its debug output: a clue for whoever looks, harmless otherwise.
  process.stderr.write(`sms-notifier: event not delivered (${error instanceof Error ? error.message : String(error)})\n`)
}
process.exit(0)

/** The run file of this Claude process's MCP server, when this session is monitored. */
function findMonitoringServer(env) {
  const dataDir = env.CLAUDE_PLUGIN_DATA
  // Before 2.1.214 there is no CLAUDE_PID; run directly (exec form) the hook's parent is Claude itself.
  const claudePid = env.CLAUDE_PID || String(process.ppid)
  if (!dataDir || !/^\d+$/.test(claudePid)) return undefined
  let run
  try {
    run = JSON.parse(readFileSync(join(dataDir, 'run', `${claudePid}.json`), 'utf8'))
  } catch {
    return undefined // absent (not monitored) or being replaced this instant: nothing to do either way
  }
  if (!Number.isInteger(run?.port) || run.port <= 0 || run.port > 65535 || typeof run.token !== 'string' || !run.token) return undefined
  if (Number.isInteger(run.pid) && !isAlive(run.pid)) return undefined // a crashed server's leftover file
  return { port: run.port, token: run.token }
}

/** A session is monitored, or could be resumed, only when its file is in the plugin's sessions folder. */
function anySavedSession(env) {
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || '/', '.config')
  try {
    return readdirSync(join(configHome, 'claude-sms-notifier', 'sessions')).some((name) => name.endsWith('.json'))
  } catch {
    return false
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return error?.code === 'EPERM'
  }
}

/** The hook JSON Claude Code wrote on stdin, trimmed below the endpoint's size limit. */
async function readEventBody() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const raw = Buffer.concat(chunks)
  if (raw.length === 0) return undefined
  if (raw.length <= MAX_BODY_BYTES) return raw
  const event = JSON.parse(raw.toString('utf8'))
  for (const bulky of ['tool_input', 'tool_response', 'last_assistant_message']) {
    if (bulky in event) event[bulky] = { omitted: `larger than ${MAX_BODY_BYTES} bytes` }
  }
  if (typeof event.error === 'string') event.error = event.error.slice(0, 10_000)
  if (typeof event.prompt === 'string') event.prompt = event.prompt.slice(0, 10_000)
  return Buffer.from(JSON.stringify(event))
}

function isPermissionRequest(body) {
  try {
    return JSON.parse(body.toString('utf8')).hook_event_name === 'PermissionRequest'
  } catch {
    return false
  }
}

/** Posts the event; resolves with the decision to print (a PermissionRequest's answer), else undefined. */
function deliver({ port, token }, body, timeoutMs) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/hook',
        headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${token}` },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          if (res.statusCode === 204) return resolve(undefined)
          if (res.statusCode !== 200) return reject(new Error(`the notifier answered HTTP ${res.statusCode}`))
          const answer = Buffer.concat(chunks).toString('utf8')
          resolve(answer.startsWith('{"hookSpecificOutput"') ? answer : undefined)
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('the notifier did not answer in time')))
    req.on('error', reject)
    req.end(body)
  })
}
