#!/usr/bin/env node
// Forwards one Claude Code hook event to this session's SMS notifier (the plugin's MCP server), where
// curl is missing: hooks/deliver.sh does the same with sh and curl, and runs this only then.
//
// Claude Code runs hooks for every registered event (hooks/hooks.json), so this must never slow or
// break a session: it prints nothing on stdout unless the notifier answers with a decision for the
// hook (200 with a body starting {"hookSpecificOutput"), exits 0 whatever happens (another code would
// surface as a hook error), and gives up after the seconds given as its argument (1 by default;
// SessionEnd hooks share a 1.5 s budget). Plain JavaScript with no dependencies and no build step:
// it runs from the plugin folder exactly as committed.
//
// One exception: a PermissionRequest hook waits (hooks.json gives it seconds just under the hook's own
// timeout of a day) while the MCP server finds out whether the person answers from the phone. When the
// answer is a 200 whose body is a decision ({"hookSpecificOutput": ...}), that body is printed on stdout
// for Claude Code; a 204, or anything else, prints nothing and the terminal's dialog decides.
//
// The MCP server, a direct child of Claude Code, writes $CLAUDE_PLUGIN_DATA/run/<Claude's pid>.json
// ({socket, token, pid, pid_start}) and removes it on exit (DESIGN §3, mcp/run-file.ts). Claude Code
// gives hooks that pid as CLAUDE_PID (2.1.214+). The MCP server ignores the events of a session nobody
// monitors, unless a saved session (~/.config/claude-sms-notifier/sessions/*.json) could be resumed by
// them. So with no run file, or no saved session at all, the forwarder exits before reading its input.
// A run file whose server is gone (kill -9) is removed.

import { readdirSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'

const seconds = Number(process.argv[2])
// (A timer longer than 2^31 - 1 ms would fire at once.)
const DEADLINE_MS = Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, 2 ** 31 - 1) : 1000
// The MCP server's hook endpoint takes bodies up to 1 MB as they are and trims larger ones itself
// (mcp/hook-endpoint.ts); trimming here as well keeps a huge body off the socket.
const MAX_BODY_BYTES = 900_000

// Whatever is still pending at the deadline (a hung server, stdin never closed) is abandoned.
const deadline = setTimeout(() => process.exit(0), DEADLINE_MS)
deadline.unref()

const target = findMonitoringServer(process.env)
if (!target || !anySavedSession(process.env)) process.exit(0)

try {
  const body = await readEventBody()
  const answer = body ? await deliver(target, body) : undefined
  if (answer) writeSync(1, answer) // before process.exit: stdout pipes are asynchronous on macOS
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
  const file = join(dataDir, 'run', `${claudePid}.json`)
  let run
  try {
    run = JSON.parse(readFileSync(file, 'utf8'))
  } catch {
    return undefined // absent (not monitored) or being replaced this instant: nothing to do either way
  }
  if (typeof run?.socket !== 'string' || !run.socket || typeof run.token !== 'string' || !run.token) return undefined
  if (Number.isInteger(run.pid) && !isServerRunning(run.pid, run.pid_start)) {
    // A crashed server's leftover: removed, unless a new server of this Claude wrote it meanwhile.
    try {
      if (JSON.parse(readFileSync(file, 'utf8')).pid === run.pid) for (const f of [file, file.replace(/\.json$/, '.curl')]) rmSync(f, { force: true })
    } catch {
      // already gone
    }
    return undefined
  }
  return { socket: run.socket, token: run.token }
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

/**
 * kill(pid, 0) fails with EPERM when the pid belongs to another user's process: not our MCP server,
 * which runs as this user, unless its start time (/proc/<pid>/stat field 22, Linux) is the recorded
 * one. A pid reused by one of this user's processes differs in its start time (elsewhere not checked).
 */
function isServerRunning(pid, recordedStart) {
  let otherUser = false
  try {
    process.kill(pid, 0)
  } catch (error) {
    if (error?.code !== 'EPERM') return false
    otherUser = true
  }
  const start = typeof recordedStart === 'string' ? startTime(pid) : undefined
  if (otherUser) return start !== undefined && start === recordedStart
  return start === undefined || start === recordedStart
}

function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
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

/** Resolves with what the hook prints: the answer when it is a decision, else undefined. */
function deliver({ socket, token }, body) {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path: '/hook',
        headers: { host: 'localhost', 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${token}` },
        timeout: DEADLINE_MS,
      },
      (res) => {
        const chunks = []
        res.on('data', (chunk) => chunks.push(chunk))
        res.on('end', () => {
          if (res.statusCode !== 200 && res.statusCode !== 204) return reject(new Error(`the notifier answered HTTP ${res.statusCode}`))
          const answer = Buffer.concat(chunks).toString('utf8')
          resolve(res.statusCode === 200 && answer.startsWith('{"hookSpecificOutput"') ? answer : undefined)
        })
        res.on('error', reject)
      },
    )
    req.on('timeout', () => req.destroy(new Error('the notifier did not answer in time')))
    req.on('error', reject)
    req.end(body)
  })
}
