import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { startHookEndpoint } from '../../mcp/hook-endpoint.js'
import { createMcpLogger } from '../../mcp/log.js'
import { removeRunFile, runFilePath, writeRunFile } from '../../mcp/run-file.js'
import type { TwilioEndpoint } from '../../test/support/twilio-endpoint.js'
import type { Row } from '../report.js'
import { ratioRow } from '../report.js'
import { round, summarize } from '../stats.js'

const HOOKS_JSON = resolve('hooks/hooks.json')

export interface HookCommand {
  command: string
  args?: string[]
}

/** The command Claude Code runs for this hook event, exactly as hooks/hooks.json registers it. */
export function hookCommand(event: string): HookCommand | undefined {
  if (!existsSync(HOOKS_JSON)) return undefined
  const config = JSON.parse(readFileSync(HOOKS_JSON, 'utf8')) as { hooks: Record<string, { hooks: HookCommand[] }[]> }
  return config.hooks[event]?.[0]?.hooks[0]
}

/**
 * Runs a hook command the way Claude Code does (shell form through sh -c, exec form directly), with
 * the hook JSON on stdin; resolves with the wall time from spawn to exit.
 */
export async function runHook(hook: HookCommand, env: NodeJS.ProcessEnv, stdin: string, onSpawn?: (pid: number) => void): Promise<number> {
  const t = performance.now()
  const child = hook.args ? spawn(hook.command, hook.args, { env, stdio: ['pipe', 'ignore', 'ignore'] }) : spawn('/bin/sh', ['-c', hook.command], { env, stdio: ['pipe', 'ignore', 'ignore'] })
  child.stdin.on('error', () => {}) // a hook that exits before reading stdin closes the pipe: that is the cheap path
  child.stdin.end(stdin)
  if (child.pid) onSpawn?.(child.pid)
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`hook exited ${code}`)
  return performance.now() - t
}

/** The former hook command: the node forwarder for every monitored event (kept as the fallback without curl). */
const nodeForwarder = (hook: HookCommand): HookCommand => ({ ...hook, command: hook.command.replace(/exec sh "\$CLAUDE_PLUGIN_ROOT\/hooks\/deliver\.sh" (\d+)$/, 'exec node "$CLAUDE_PLUGIN_ROOT/hooks/forward.js" $1') })

async function timeCommand(command: string, args: string[]): Promise<number> {
  const t = performance.now()
  const child = spawn(command, args, { stdio: 'ignore' })
  await once(child, 'exit')
  return performance.now() - t
}

export const failureEvent = (sessionId: string, i: number) =>
  JSON.stringify({
    session_id: sessionId,
    transcript_path: '/tmp/transcript.jsonl',
    cwd: '/work/billing-service',
    hook_event_name: 'PostToolUseFailure',
    tool_name: 'Bash',
    tool_input: { command: `npm test -- --run ${i}` },
    tool_use_id: `toolu_${i}`,
    error: `Exit code 1\nnpm ERR! test ${i} failed`,
  })

/**
 * What a hook costs Claude Code, interleaved with its baselines so drift hits all alike: not
 * monitored (no run file; or the MCP server running with no session saved) against `sh -c true`;
 * monitored (sh and curl) against `node -e 0`, and the node forwarder it replaced in the same loop.
 */
export async function benchHookCost(opts: {
  repeats: number
  unmonitoredEnv: NodeJS.ProcessEnv
  idleEnv?: NodeJS.ProcessEnv
  monitoredEnv: NodeJS.ProcessEnv | undefined
  sessionId: string
  log: (m: string) => void
}): Promise<Row[]> {
  const hook = hookCommand('PostToolUseFailure')
  if (!hook) return []
  const sh: number[] = []
  const unmonitored: number[] = []
  const idle: number[] = []
  const node: number[] = []
  const monitored: number[] = []
  const forwarder: number[] = []
  // A tool use, not a failure: the cost of the delivery itself, without texting anyone.
  const stdin = JSON.stringify({ session_id: opts.sessionId, transcript_path: '/tmp/t.jsonl', cwd: '/work/billing-service', hook_event_name: 'PostToolUse', tool_name: 'Read', tool_input: {}, tool_response: {} })
  const postToolUse = hookCommand('PostToolUse') ?? hook
  for (let i = 0; i < opts.repeats; i++) {
    sh.push(await timeCommand('/bin/sh', ['-c', 'true']))
    unmonitored.push(await runHook(hook, opts.unmonitoredEnv, failureEvent(opts.sessionId, i)))
    if (opts.idleEnv) idle.push(await runHook(hook, opts.idleEnv, failureEvent(opts.sessionId, i)))
    if (opts.monitoredEnv) {
      node.push(await timeCommand(process.execPath, ['-e', '0']))
      monitored.push(await runHook(postToolUse, opts.monitoredEnv, stdin))
      if (i % 2 === 0) forwarder.push(await runHook(nodeForwarder(postToolUse), opts.monitoredEnv, stdin))
    }
  }
  opts.log(`  hook not monitored: median ${round(summarize(unmonitored).median)} ms vs sh -c true ${round(summarize(sh).median)} ms`)
  const rows: Row[] = []
  const unmonitoredRow = ratioRow({ section: 'hook', metric: 'session not monitored (no run file)', unit: 'ms', value: summarize(unmonitored), baseline: { name: 'sh -c true', value: summarize(sh) } })
  rows.push({ ...unmonitoredRow, target: '<= 1.5x sh -c true', met: (unmonitoredRow.ratio ?? Infinity) <= 1.5 })
  if (idle.length) {
    rows.push(ratioRow({ section: 'hook', metric: 'MCP server running, no session saved', unit: 'ms', value: summarize(idle), baseline: { name: 'sh -c true', value: summarize(sh) } }))
  }
  if (monitored.length) {
    opts.log(`  hook monitored: median ${round(summarize(monitored).median)} ms (node forwarder ${round(summarize(forwarder).median)} ms) vs node -e 0 ${round(summarize(node).median)} ms`)
    const monitoredRow = ratioRow({ section: 'hook', metric: 'session monitored, delivered (sh + curl)', unit: 'ms', value: summarize(monitored), baseline: { name: 'node -e 0', value: summarize(node) } })
    rows.push({ ...monitoredRow, target: '<= 0.3x node -e 0', met: (monitoredRow.ratio ?? Infinity) <= 0.3 })
    rows.push({ ...ratioRow({ section: 'hook', metric: 'session monitored, delivered by the node forwarder (before; now the fallback without curl)', unit: 'ms', value: summarize(forwarder), baseline: { name: 'node -e 0', value: summarize(node) } }) })
  }
  return rows
}

interface TreeMemory {
  /** Resident pages, shared library pages included in full. */
  rss: number
  /** Proportional set size: each shared page divided among the processes that map it. */
  pss: number
  /** Unique set size (Private_Clean + Private_Dirty): what ending these processes would give back. */
  uss: number
  /** Of it, anonymous memory (heap, stacks). */
  privateKb: number
  processes: string[]
  /** Per process, in KB: comm, RSS, PSS, USS. */
  each: { comm: string; rss: number; pss: number; uss: number }[]
}

/**
 * Resident memory of a process and its descendants, from /proc/<pid>/smaps_rollup: RSS, PSS, USS
 * (private pages) and the anonymous memory (heap, stacks). The rest of RSS are the shared libraries'
 * pages, file-backed, shared by every process that maps them and reclaimable.
 */
function treeMemoryKb(rootPid: number): TreeMemory {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {
      // gone meanwhile
    }
  }
  const memory: TreeMemory = { rss: 0, pss: 0, uss: 0, privateKb: 0, processes: [], each: [] }
  const visit = (pid: number) => {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      const field = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0)
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
      const one = { comm, rss: field('Rss'), pss: field('Pss'), uss: field('Private_Clean') + field('Private_Dirty') }
      memory.rss += one.rss
      memory.pss += one.pss
      memory.uss += one.uss
      memory.privateKb += field('Anonymous')
      memory.processes.push(comm)
      memory.each.push(one)
    } catch {
      return
    }
    for (const child of children.get(pid) ?? []) visit(child)
  }
  visit(rootPid)
  return memory
}

/**
 * The PermissionRequest hook of hooks/hooks.json waiting for the phone's answer: a hook endpoint in
 * this process holds the request for holdMs; meanwhile the memory of the hook's processes is read (sh
 * alone once curl has handed the request over and exited; sh and curl where mkfifo is missing), and
 * that of the node forwarder (the fallback without curl) doing the same, interleaved.
 */
export async function benchWaitingHookMemory(opts: { repeats: number; holdMs: number; env: NodeJS.ProcessEnv; runDir: string; claudePid: number; sessionId: string; log: (m: string) => void }): Promise<Row[]> {
  const hook = hookCommand('PermissionRequest')
  if (!hook) return []
  const releases: (() => void)[] = []
  let arrived: (() => void) | undefined
  const endpoint = await startHookEndpoint({
    socketPath: join(opts.runDir, `${process.pid}.sock`),
    // As the MCP server: the hook waits on an answer FIFO in the run directory (hooks/deliver.sh).
    pipeDir: opts.runDir,
    log: createMcpLogger('silent'),
    onEvent: () =>
      new Promise((resolve) => {
        releases.push(() => resolve({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }))
        arrived?.()
      }),
  })
  const runFile = runFilePath(opts.runDir, opts.claudePid)
  await writeRunFile(runFile, { socket: endpoint.socketPath, token: endpoint.token, pid: process.pid, pid_start: null, claude_pid: opts.claudePid, session_id_at_spawn: null, started_at: new Date().toISOString() })
  const stdin = JSON.stringify({ session_id: opts.sessionId, cwd: '/work/billing-service', hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'rm -rf build' } })
  const start = async (command: HookCommand) => {
    const isHere = new Promise<void>((r) => (arrived = r))
    let pid = 0
    const ran = runHook(command, opts.env, stdin, (p) => (pid = p))
    await isHere
    return { pid, ran }
  }
  /** The memory of one waiting hook; with `alongside`, of a second one started while a first waits. */
  const measure = async (command: HookCommand, alongside = false) => {
    const first = alongside ? await start(command) : undefined
    const measured = await start(command)
    await new Promise((r) => setTimeout(r, opts.holdMs))
    const memory = treeMemoryKb(measured.pid)
    for (const release of releases.splice(0)) release()
    await Promise.all([first?.ran, measured.ran])
    return memory
  }
  const curl: TreeMemory[] = []
  const node: TreeMemory[] = []
  const secondCurl: TreeMemory[] = []
  const secondNode: TreeMemory[] = []
  try {
    for (let i = 0; i < opts.repeats; i++) {
      curl.push(await measure(hook))
      node.push(await measure(nodeForwarder(hook)))
      secondCurl.push(await measure(hook, true))
      secondNode.push(await measure(nodeForwarder(hook), true))
    }
  } finally {
    await removeRunFile(runFile)
    await endpoint.close()
  }
  const mb = (kb: number[]) => summarize(kb.map((k) => round(k / 1024, 2)))
  const median = (xs: TreeMemory[], f: (m: TreeMemory) => number) => round(mb(xs.map(f)).median)
  const each = (m: TreeMemory | undefined) => m?.each.map((p) => `${p.comm} RSS ${round(p.rss / 1024, 2)} / PSS ${round(p.pss / 1024, 2)} / USS ${round(p.uss / 1024, 2)} MB`).join(', ')
  opts.log(`  waiting PermissionRequest hook (${curl[0]?.processes.join(' + ')}): RSS ${median(curl, (m) => m.rss)} MB, PSS ${median(curl, (m) => m.pss)} MB, USS ${median(curl, (m) => m.uss)} MB, anonymous ${median(curl, (m) => m.privateKb)} MB; node forwarder RSS ${median(node, (m) => m.rss)} MB, USS ${median(node, (m) => m.uss)} MB`)
  opts.log(`    per process: ${each(curl[0])}; a second one waiting alongside: ${each(secondCurl[0])}`)
  const row = (metric: string, f: (m: TreeMemory) => number) => {
    const r = ratioRow({ section: 'hook', metric, unit: 'MB', value: mb(curl.map(f)), baseline: { name: 'node forwarder', value: mb(node.map(f)) } })
    return { ...r, target: '< 5 MB', met: r.value.median < 5 }
  }
  return [
    row(`PermissionRequest hook waiting for an answer (${opts.holdMs / 1000} s held): RSS of ${curl[0]?.processes.join(' + ')}`, (m) => m.rss),
    row('PermissionRequest hook waiting: PSS (shared pages divided among their users)', (m) => m.pss),
    row('PermissionRequest hook waiting: USS (pages no other process maps)', (m) => m.uss),
    row('PermissionRequest hook waiting: of which anonymous memory (heap, stacks)', (m) => m.privateKb),
    {
      ...ratioRow({ section: 'hook', metric: 'a second PermissionRequest hook waiting alongside: USS (what it adds)', unit: 'MB', value: mb(secondCurl.map((m) => m.uss)), baseline: { name: 'node forwarder', value: mb(secondNode.map((m) => m.uss)) } }),
      target: '< 5 MB',
      met: mb(secondCurl.map((m) => m.uss)).median < 5,
    },
  ]
}

/** From the forwarder's start to the Twilio-compatible endpoint receiving the send request. */
export async function benchEventLatency(opts: { events: number; env: NodeJS.ProcessEnv; sessionId: string; twilio: TwilioEndpoint; to: string; log: (m: string) => void }): Promise<Row[]> {
  const hook = hookCommand('PostToolUseFailure')
  if (!hook) return []
  const latencies: number[] = []
  // Where the time goes: the hook process itself (sh, curl, POST to the MCP server, exit) and
  // what follows once it has exited (MCP server -> server -> provider).
  const hookRuns: number[] = []
  const afterExit: number[] = []
  const nodeStarts: number[] = []
  for (let i = 0; i < opts.events; i++) {
    if (i % 4 === 0) nodeStarts.push(await timeCommand(process.execPath, ['-e', '0']))
    const already = opts.twilio.messages.filter((m) => m.to === opts.to).length
    const t = performance.now()
    const arrived = waitForText(opts.twilio, opts.to, already + 1).then(() => performance.now())
    const hookMs = await runHook(hook, opts.env, failureEvent(opts.sessionId, i))
    const at = await arrived
    latencies.push(at - t)
    hookRuns.push(hookMs)
    afterExit.push(Math.max(0, at - t - hookMs))
  }
  const s = summarize(latencies)
  opts.log(`  ${opts.events} events: p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms; the hook process ${round(summarize(hookRuns).p50)} ms (node -e 0 ${round(summarize(nodeStarts).p50)} ms), after it exits ${round(summarize(afterExit).p50)} ms (p50)`)
  const hookSummary = summarize(hookRuns)
  const afterSummary = summarize(afterExit)
  return [
    { section: 'latency', metric: `hook start to provider, p50 (${opts.events} events)`, unit: 'ms', value: { ...s, median: s.p50 }, target: '<= 25 ms', met: s.p50 <= 25 },
    { section: 'latency', metric: `hook start to provider, p99 (${opts.events} events)`, unit: 'ms', value: { ...s, median: s.p99 }, target: '<= 100 ms', met: s.p99 <= 100 },
    { section: 'latency', metric: 'of which the hook process (spawn to exit), p50', unit: 'ms', value: { ...hookSummary, median: hookSummary.p50 }, baseline: { name: 'node -e 0', value: summarize(nodeStarts) }, ratio: round(hookSummary.p50 / summarize(nodeStarts).median) },
    { section: 'latency', metric: 'of which after the hook exits (MCP server, server, provider), p50', unit: 'ms', value: { ...afterSummary, median: afterSummary.p50 } },
  ]
}

async function waitForText(twilio: TwilioEndpoint, to: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (twilio.messages.filter((m) => m.to === to).length < count) {
    if (Date.now() > deadline) throw new Error(`no text to the endpoint within 10 s`)
    await twilio.waitForMessages(twilio.messages.length + 1, Math.max(1, deadline - Date.now())).catch(() => undefined)
  }
}
