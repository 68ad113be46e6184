import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../../test/support/mcp-client.js'
import type { Row } from '../report.js'
import { round, summarize } from '../stats.js'

const rssOf = (pid: number) => {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return kb ? Number(kb) / 1024 : NaN
}

/** Resident memory of a node process doing nothing: the floor any node program starts from. */
async function bareNodeRssMb(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'process.stdout.write("ready\\n"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] })
  await once(child.stdout, 'data')
  const mb = rssOf(child.pid!)
  child.kill()
  await once(child, 'exit')
  return mb
}

async function nodeStartMs(): Promise<number> {
  const t = performance.now()
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' })
  await once(child, 'exit')
  return performance.now() - t
}

/** One start as Claude Code makes it: spawn to the tools/list answer, and the resident memory then. */
async function timeStart(dirs: PluginDirs, env: Record<string, string>): Promise<{ ms: number; rssMb: number; toolsJson: string }> {
  const t = performance.now()
  const mcp = await startMcp({ dirs, env: { ...env, CLAUDE_SMS_LOG_LEVEL: 'warn' } })
  const tools = await mcp.client.listTools()
  const ms = performance.now() - t
  const rssMb = rssOf(mcp.pid)
  // Closed as Claude Code ends a session: a first start writes its code cache on the way out.
  await mcp.close()
  return { ms, rssMb, toolsJson: JSON.stringify(tools) }
}

/**
 * Spawn to tools/list answered, resident memory after start, and the tools' size in Claude's context.
 * Every start but a plugin's very first finds the V8 code cache an earlier one wrote (mcp/launcher.ts):
 * those starts share one plugin data directory, warmed by one start before; first starts get a fresh one.
 */
export async function benchMcpStartup(opts: { repeats: number; env: Record<string, string>; log: (m: string) => void }): Promise<{ rows: Row[]; toolsJson: string }> {
  const listMs: number[] = []
  const firstMs: number[] = []
  const nodeMs: number[] = []
  const rss: number[] = []
  const firstRss: number[] = []
  const bareRss: number[] = []
  let toolsJson = ''
  const warm = pluginDirs()
  await timeStart(warm, opts.env)
  for (let i = 0; i < opts.repeats; i++) {
    nodeMs.push(await nodeStartMs())
    const later = await timeStart(warm, opts.env)
    listMs.push(later.ms)
    rss.push(later.rssMb)
    toolsJson = later.toolsJson
    const first = await timeStart(pluginDirs(), opts.env)
    firstMs.push(first.ms)
    firstRss.push(first.rssMb)
    bareRss.push(await bareNodeRssMb())
    opts.log(`  MCP start ${i + 1}: tools/list after ${Math.round(listMs.at(-1)!)} ms (a first start: ${Math.round(firstMs.at(-1)!)} ms; node -e 0: ${Math.round(nodeMs.at(-1)!)} ms), RSS ${round(rss.at(-1)!, 1)} MB`)
  }
  const chars = toolsJson.length
  const tokens = Math.ceil(chars / 4) // ~4 characters per token for English JSON: an estimate, not a tokenizer
  const listSummary = summarize(listMs)
  const firstSummary = summarize(firstMs)
  const nodeSummary = summarize(nodeMs)
  const rssSummary = summarize(rss)
  return {
    toolsJson,
    rows: [
      { section: 'MCP server', metric: 'spawn to tools/list answered (code cache of an earlier start)', unit: 'ms', value: listSummary, baseline: { name: 'node -e 0', value: nodeSummary }, ratio: round(listSummary.median / nodeSummary.median), target: '<= 2x node -e 0', met: listSummary.median / nodeSummary.median <= 2 },
      { section: 'MCP server', metric: 'spawn to tools/list answered, the plugin\'s first start (no code cache yet)', unit: 'ms', value: firstSummary, baseline: { name: 'node -e 0', value: nodeSummary }, ratio: round(firstSummary.median / nodeSummary.median) },
      { section: 'MCP server', metric: 'resident memory after start', unit: 'MB', value: rssSummary, baseline: { name: 'idle node', value: summarize(bareRss) }, ratio: round(rssSummary.median / summarize(bareRss).median), target: '<= 60 MB', met: rssSummary.median <= 60 },
      { section: 'MCP server', metric: 'resident memory after the plugin\'s first start (no code cache yet)', unit: 'MB', value: summarize(firstRss), baseline: { name: 'idle node', value: summarize(bareRss) }, ratio: round(summarize(firstRss).median / summarize(bareRss).median) },
      { section: 'MCP server', metric: 'tools in Claude\'s context (tools/list JSON)', unit: 'tokens', value: summarize([tokens]), target: '<= 1,000 tokens', met: tokens <= 1000, note: `${chars} characters, estimated at 4 characters a token` },
    ],
  }
}

/** A paired, monitoring MCP server for the hook benchmarks. */
export async function startMonitoringMcp(opts: { env: Record<string, string>; phone: string; code: () => Promise<string>; sessionId: string }): Promise<{ mcp: McpProcess; dirs: PluginDirs }> {
  const dirs = pluginDirs()
  // As every session but the plugin's first: an earlier start left its code cache.
  await timeStart(dirs, opts.env)
  const mcp = await startMcp({ dirs, env: { ...opts.env, CLAUDE_SMS_LOG_LEVEL: 'warn' }, sessionId: opts.sessionId })
  const setup = await mcp.call('sms_setup', { phone: opts.phone })
  if (setup.isError) throw new Error(`sms_setup failed: ${setup.text}`)
  const pair = await mcp.call('sms_pair', { code: await opts.code() })
  if (pair.isError) throw new Error(`sms_pair failed: ${pair.text}`)
  const start = await mcp.call('sms_start', { description: 'Benchmark run' })
  if (start.isError) throw new Error(`sms_start failed: ${start.text}`)
  return { mcp, dirs }
}

/** Resident memory after 1,000 hook events in a monitored session. */
export async function benchMcpMemoryUnderEvents(opts: { mcp: McpProcess; events: number; settleMs: number; log: (m: string) => void }): Promise<Row[]> {
  const before = rssOf(opts.mcp.pid)
  const kinds = [
    { hook_event_name: 'UserPromptSubmit', prompt: 'go on' },
    { hook_event_name: 'PostToolUse', tool_name: 'Read', tool_input: { file_path: '/tmp/x' }, tool_response: {} },
    { hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'npm test' }, error: 'Exit code 1\nnpm ERR! test failed' },
    { hook_event_name: 'Stop', stop_hook_active: false, last_assistant_message: 'Done for now.' },
  ]
  for (let i = 0; i < opts.events; i++) {
    const res = await opts.mcp.hook(kinds[i % kinds.length]!)
    if (res.status !== 204) throw new Error(`hook endpoint answered ${res.status}`)
  }
  const after = rssOf(opts.mcp.pid)
  // A real session posts an event every few seconds at most: what the process holds once the burst is
  // over and V8's memory reducer had its idle time.
  await new Promise((r) => setTimeout(r, opts.settleMs))
  const settled = rssOf(opts.mcp.pid)
  opts.log(`  MCP RSS before ${round(before, 1)} MB, after ${opts.events} hook events ${round(after, 1)} MB, ${opts.settleMs / 1000} s later ${round(settled, 1)} MB`)
  return [
    { section: 'MCP server', metric: `resident memory after ${opts.events} hook events`, unit: 'MB', value: summarize([after]), baseline: { name: 'same process at start', value: summarize([before]) }, ratio: round(after / before), target: '<= 70 MB', met: after <= 70 },
    { section: 'MCP server', metric: `resident memory ${opts.settleMs / 1000} s after those events`, unit: 'MB', value: summarize([settled]), baseline: { name: 'same process at start', value: summarize([before]) }, ratio: round(settled / before) },
  ]
}
