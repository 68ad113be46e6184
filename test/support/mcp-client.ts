import { EventEmitter, once } from 'node:events'
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { RunFile } from '../../mcp/run-file.js'
import { postToHookSocket, type HookReply } from './hook-socket.js'
import { recordSecret, testOutputDir } from './secrets.js'

/** The bundled MCP server, exactly as Claude Code runs it (npm test builds it first). */
export const MCP_MAIN = resolve('dist/mcp/main.js')
/** The node options .mcp.json gives before the script (V8 memory settings), as Claude Code passes them. */
export const MCP_NODE_OPTIONS = (JSON.parse(readFileSync(resolve('.mcp.json'), 'utf8')) as { mcpServers: { sms: { args: string[] } } }).mcpServers.sms.args.filter((a) => a.startsWith('-'))

export interface PluginDirs {
  home: string
  config: string
  pluginData: string
}

/** A fresh HOME, XDG_CONFIG_HOME and CLAUDE_PLUGIN_DATA: what one computer's user would have. */
export function pluginDirs(): PluginDirs {
  const base = mkdtempSync(join(tmpdir(), 'claude-sms-plugin-'))
  const dirs = { home: join(base, 'home'), config: join(base, 'xdg'), pluginData: join(base, 'plugin-data') }
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true })
  return dirs
}

export interface ToolResult {
  text: string
  structured: Record<string, unknown>
  isError: boolean
}

export interface McpProcess {
  client: Client
  pid: number
  stderr: string[]
  /** Resolves when a log line (stderr, JSON) matching the pattern was written, earlier or later. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>
  /** The run file this process wrote (the test process is its parent, so there is one). */
  runFile(): RunFile | undefined
  /** POSTs a hook event over the run file's socket, the way hooks/deliver.sh does (204: taken, no decision). */
  hook(event: Record<string, unknown>): Promise<HookReply>
  /** Resolves when the process has exited. */
  exited: Promise<void>
  close(): Promise<void>
}

/**
 * Spawns `node dist/mcp/main.js` and connects the real MCP SDK client over stdio, as Claude Code does.
 */
export async function startMcp(opts: { dirs: PluginDirs; env?: Record<string, string | undefined>; sessionId?: string; main?: string }): Promise<McpProcess> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: opts.dirs.home,
    XDG_CONFIG_HOME: opts.dirs.config,
    CLAUDE_PLUGIN_DATA: opts.dirs.pluginData,
    CLAUDE_PROJECT_DIR: '/work/billing-service',
    CLAUDE_CODE_SESSION_ID: opts.sessionId ?? 'session-1',
    CLAUDE_SMS_OPEN_BROWSER: '0',
    CLAUDE_SMS_LOG_LEVEL: 'debug',
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  const transport = new StdioClientTransport({ command: process.execPath, args: [...MCP_NODE_OPTIONS, opts.main ?? MCP_MAIN], env, stderr: 'pipe' })
  const stderr: string[] = []
  const logged = new EventEmitter()
  let partial = ''
  // Kept for the suite-wide scan for secrets in log output (test/support/log-scan.ts).
  const logDir = join(testOutputDir(), 'logs')
  mkdirSync(logDir, { recursive: true })
  const logFile = join(logDir, `mcp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.ndjson`)
  transport.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines.filter(Boolean)) {
      appendFileSync(logFile, `${line}\n`)
      stderr.push(line)
      logged.emit('line', line)
    }
  })
  let exit!: () => void
  const exited = new Promise<void>((r) => (exit = r))
  transport.onclose = () => exit()
  const client = new Client({ name: 'test', version: '0' })
  await client.connect(transport)
  const runDir = join(opts.dirs.pluginData, 'run')
  const readRunFile = () => {
    const names = (() => {
      try {
        return readdirSync(runDir)
      } catch {
        return []
      }
    })().filter((n) => n.endsWith('.json'))
    if (names.length === 0) return undefined
    const run = RunFile.parse(JSON.parse(readFileSync(join(runDir, names[0]!), 'utf8')))
    recordSecret('token', run.token)
    return run
  }
  return {
    client,
    pid: transport.pid!,
    stderr,
    exited,
    async waitForLog(pattern, timeoutMs = 10_000) {
      const signal = AbortSignal.timeout(timeoutMs)
      for (;;) {
        const hit = stderr.find((l) => pattern.test(l))
        if (hit) return hit
        try {
          await once(logged, 'line', { signal })
        } catch {
          throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms`)
        }
      }
    },
    async call(name, args = {}) {
      const r = (await client.callTool({ name, arguments: args })) as { content: { type: string; text: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean }
      return { text: r.content.map((c) => c.text).join('\n'), structured: r.structuredContent ?? {}, isError: r.isError ?? false }
    },
    runFile: readRunFile,
    async hook(event) {
      const run = readRunFile()
      if (!run) throw new Error('no run file: the session is not monitored')
      const body = JSON.stringify({ session_id: opts.sessionId ?? 'session-1', transcript_path: '/tmp/t.jsonl', cwd: '/work/billing-service', ...event })
      return postToHookSocket(run.socket, body, { authorization: `Bearer ${run.token}`, headers: { 'content-type': 'application/json' } })
    },
    async close() {
      await client.close().catch(() => undefined)
      await exited
    },
  }
}
