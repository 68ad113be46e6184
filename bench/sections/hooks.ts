import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
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
export async function runHook(hook: HookCommand, env: NodeJS.ProcessEnv, stdin: string): Promise<number> {
  const t = performance.now()
  const child = hook.args ? spawn(hook.command, hook.args, { env, stdio: ['pipe', 'ignore', 'ignore'] }) : spawn('/bin/sh', ['-c', hook.command], { env, stdio: ['pipe', 'ignore', 'ignore'] })
  child.stdin.on('error', () => {}) // a hook that exits before reading stdin closes the pipe: that is the cheap path
  child.stdin.end(stdin)
  const [code] = await once(child, 'exit')
  if (code !== 0) throw new Error(`hook exited ${code}`)
  return performance.now() - t
}

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
 * What a hook costs Claude Code, interleaved with its baseline so drift hits both alike:
 * not monitored (no run file) against `sh -c true`; monitored against `node -e 0`.
 */
export async function benchHookCost(opts: { repeats: number; unmonitoredEnv: NodeJS.ProcessEnv; monitoredEnv: NodeJS.ProcessEnv | undefined; sessionId: string; log: (m: string) => void }): Promise<Row[]> {
  const hook = hookCommand('PostToolUseFailure')
  if (!hook) return []
  const sh: number[] = []
  const unmonitored: number[] = []
  const node: number[] = []
  const monitored: number[] = []
  for (let i = 0; i < opts.repeats; i++) {
    sh.push(await timeCommand('/bin/sh', ['-c', 'true']))
    unmonitored.push(await runHook(hook, opts.unmonitoredEnv, failureEvent(opts.sessionId, i)))
    if (opts.monitoredEnv) {
      node.push(await timeCommand(process.execPath, ['-e', '0']))
      // A tool use, not a failure: the cost of the forwarder itself, without texting anyone.
      const stdin = JSON.stringify({ session_id: opts.sessionId, transcript_path: '/tmp/t.jsonl', cwd: '/work/billing-service', hook_event_name: 'PostToolUse', tool_name: 'Read', tool_input: {}, tool_response: {} })
      monitored.push(await runHook(hookCommand('PostToolUse') ?? hook, opts.monitoredEnv, stdin))
    }
  }
  opts.log(`  hook not monitored: median ${round(summarize(unmonitored).median)} ms vs sh -c true ${round(summarize(sh).median)} ms`)
  const rows: Row[] = []
  const unmonitoredRow = ratioRow({ section: 'hook', metric: 'forwarder, session not monitored', unit: 'ms', value: summarize(unmonitored), baseline: { name: 'sh -c true', value: summarize(sh) } })
  rows.push({ ...unmonitoredRow, target: '<= 2x sh -c true', met: (unmonitoredRow.ratio ?? Infinity) <= 2 })
  if (monitored.length) {
    opts.log(`  hook monitored: median ${round(summarize(monitored).median)} ms vs node -e 0 ${round(summarize(node).median)} ms`)
    const monitoredRow = ratioRow({ section: 'hook', metric: 'forwarder, session monitored (delivered)', unit: 'ms', value: summarize(monitored), baseline: { name: 'node -e 0', value: summarize(node) } })
    rows.push({ ...monitoredRow, target: '<= 1.2x node -e 0', met: (monitoredRow.ratio ?? Infinity) <= 1.2 })
  }
  return rows
}

/** From the forwarder's start to the Twilio-compatible endpoint receiving the send request. */
export async function benchEventLatency(opts: { events: number; env: NodeJS.ProcessEnv; sessionId: string; twilio: TwilioEndpoint; to: string; log: (m: string) => void }): Promise<Row[]> {
  const hook = hookCommand('PostToolUseFailure')
  if (!hook) return []
  const latencies: number[] = []
  // Where the time goes: the hook process itself (sh, node start, POST to the MCP server, exit) and
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
    { section: 'latency', metric: `hook start to provider, p50 (${opts.events} events)`, unit: 'ms', value: { ...s, median: s.p50 }, target: '<= 50 ms', met: s.p50 <= 50 },
    { section: 'latency', metric: `hook start to provider, p99 (${opts.events} events)`, unit: 'ms', value: { ...s, median: s.p99 }, target: '<= 200 ms', met: s.p99 <= 200 },
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
