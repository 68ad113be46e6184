#!/usr/bin/env node
// What one hook invocation costs, measured the way Claude Code pays for it: spawn, hook JSON on stdin,
// wait for exit. Repeated runs (hyperfine-style: warm-up, then N timed runs), mean / median / p95.
//
//   node scripts/hook-cost.mjs [runs]      prints a Markdown table for docs/performance.md
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const runs = Number(process.argv[2] ?? 200)
const root = resolve(import.meta.dirname, '..')
const forwarder = join(root, 'hooks', 'forward.js')
const hooks = JSON.parse(readFileSync(join(root, 'hooks', 'hooks.json'), 'utf8'))
const shellForm = hooks.hooks.PostToolUseFailure[0].hooks[0].command
const event = JSON.stringify({
  session_id: 'bench',
  transcript_path: '/tmp/t.jsonl',
  cwd: root,
  hook_event_name: 'PostToolUseFailure',
  tool_name: 'Bash',
  tool_input: { command: 'false' },
  error: 'Exit code 1',
})

const claudePid = '999999'
const child = process.env.HOOK_COST_CHILD
// Three plugin states, each a {dataDir, configHome}: no MCP server run file; an MCP server running but no
// session monitored or saved; a monitored session. The endpoint must live in the parent (the child's
// event loop is blocked in spawnSync).
const [none, idle, monitored] = child ? JSON.parse(process.env.HOOK_COST_DIRS) : [0, 1, 2].map(() => {
  const base = mkdtempSync(join(tmpdir(), 'hook-cost-'))
  return { dataDir: join(base, 'data'), configHome: join(base, 'config') }
})
let endpoint
if (!child) {
  // A stand-in for the MCP server's hook endpoint: answers 200 at once.
  endpoint = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'))
  })
  endpoint.listen(0, '127.0.0.1')
  await once(endpoint, 'listening')
  for (const dirs of [none, idle, monitored]) mkdirSync(join(dirs.configHome, 'claude-sms-notifier', 'sessions'), { recursive: true })
  for (const dirs of [idle, monitored]) {
    mkdirSync(join(dirs.dataDir, 'run'), { recursive: true })
    writeFileSync(join(dirs.dataDir, 'run', `${claudePid}.json`), JSON.stringify({ port: endpoint.address().port, token: 't', pid: process.pid }))
  }
  writeFileSync(join(monitored.configHome, 'claude-sms-notifier', 'sessions', 'bench.json'), '{}')
}

const envFor = (dirs) => ({ PATH: process.env.PATH, CLAUDE_PID: claudePid, CLAUDE_PLUGIN_DATA: dirs.dataDir, XDG_CONFIG_HOME: dirs.configHome, CLAUDE_PLUGIN_ROOT: root })

const cases = [
  ['baseline: `sh -c true`', 'sh', ['-c', 'true'], none],
  ['baseline: `node -e 0`', process.execPath, ['-e', '0'], none],
  ['no MCP server run file, shell form (shipped)', 'sh', ['-c', shellForm], none],
  ['MCP server running, nothing monitored, shell form (shipped)', 'sh', ['-c', shellForm], idle],
  ['nothing monitored, exec form `node hooks/forward.js`', process.execPath, [forwarder], idle],
  ['monitored, shell form: the forwarder posts to the endpoint', 'sh', ['-c', shellForm], monitored],
]

if (child) {
  const [, command, args, dirs] = cases[Number(child)]
  const times = []
  for (let i = 0; i < runs + 5; i++) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(command, args, { input: event, env: envFor(dirs), stdio: ['pipe', 'ignore', 'ignore'] })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0) throw new Error(`${cases[Number(child)][0]} exited ${r.status}`)
    if (i >= 5) times.push(ms) // the first runs warm the page cache
  }
  process.stdout.write(JSON.stringify(times))
  process.exit(0)
}

const { spawn } = await import('node:child_process')
const rows = []
for (let i = 0; i < cases.length; i++) {
  const p = spawn(process.execPath, [import.meta.filename, String(runs)], { env: { ...process.env, HOOK_COST_CHILD: String(i), HOOK_COST_DIRS: JSON.stringify([none, idle, monitored]) }, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  p.stdout.on('data', (d) => (out += d))
  const [code] = await once(p, 'close')
  if (code !== 0) throw new Error(`measuring "${cases[i][0]}" failed`)
  const times = JSON.parse(out).sort((a, b) => a - b)
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))]
  const mean = times.reduce((a, b) => a + b, 0) / times.length
  rows.push(`| ${cases[i][0]} | ${mean.toFixed(1)} | ${at(0.5).toFixed(1)} | ${at(0.95).toFixed(1)} |`)
}
endpoint.close()

console.log(`${runs} runs each after 5 warm-up runs; node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString().slice(0, 10)}.\n`)
console.log('| hook command | mean ms | median ms | p95 ms |')
console.log('|---|---:|---:|---:|')
for (const r of rows) console.log(r)
