import { randomUUID } from 'node:crypto'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv'
import type { jsonSchemaValidator } from '@modelcontextprotocol/sdk/validation'
import { createApi } from './api.js'
import { createApprovals } from './approvals.js'
import { createAuth } from './auth.js'
import { loadMcpConfig } from './config.js'
import { startHookEndpoint, type HookEndpoint } from './hook-endpoint.js'
import { createMcpLogger } from './log.js'
import { createMonitor } from './monitor.js'
import { createOutbox, defaultRetryPolicy } from './outbox.js'
import { chooseSocketPath, ensureOwnRunDir, processStartTime, removeRunFile, removeSocket, removeStaleRunFiles, runFilePath, writeRunFile } from './run-file.js'
import { ensurePrivateDir, storePaths } from './store.js'
import { refusal, type ToolAnswer } from './tools/answer.js'
import type { ToolContext } from './tools/context.js'
import * as logout from './tools/logout.js'
import * as pair from './tools/pair.js'
import * as setup from './tools/setup.js'
import * as start from './tools/start.js'
import * as status from './tools/status.js'
import * as stop from './tools/stop.js'

/** Claude Code sends SIGINT and moves on: what is not sent by then waits in the outbox for the next process. */
const SHUTDOWN_FLUSH_MS = 900
const AUTH_CHECK_MS = 60 * 60_000

/**
 * The MCP server of one Claude Code session. A function, not top-level code, so that the bundle can be
 * CommonJS, which the launcher (mcp/launcher.ts) compiles with a V8 code cache.
 */
export async function main(): Promise<void> {
  const config = loadMcpConfig()
  const log = createMcpLogger(config.logLevel)
  for (const problem of [config.authUrlProblem, ...config.problems]) if (problem) log.warn(problem)

  const paths = storePaths(config.configDir)
  await ensurePrivateDir(paths.dir)
  const api = createApi()
  const auth = createAuth({ paths, api, log, authUrl: config.authUrl })
  const claudeSessionId = config.claudeSessionId ?? `unknown-${randomUUID()}`
  if (!config.claudeSessionId) log.warn('CLAUDE_CODE_SESSION_ID is not set: monitoring will not resume after a restart')

  // eslint-disable-next-line prefer-const -- the monitor and the outbox refer to each other
  let monitor: ReturnType<typeof createMonitor>
  const outbox = createOutbox({
    dir: paths.outboxDir,
    api,
    log,
    retry: defaultRetryPolicy(config.retryBaseMs),
    onSettled: (entry, delivery) => monitor.recordDelivery(entry, delivery),
  })

  const approvals = createApprovals({
    api,
    log,
    session: () => monitor.current(),
    thresholdMs: config.inactivityThresholdMs,
    retryBaseMs: config.retryBaseMs,
    fallbackWaiting: (permission, askedAt) => monitor.sendPermissionWaiting(permission, askedAt),
  })
  // How hook commands find this process; events of a session nobody monitors are ignored here.
  const runFile = runFilePath(config.runDir, config.claudePid)
  let hooks: HookEndpoint | undefined
  try {
    await ensureOwnRunDir(config.runDir)
    const stale = await removeStaleRunFiles(config.runDir)
    if (stale.length) log.info({ run_files: stale }, 'removed the run files of MCP servers that are gone')
    hooks = await startHookEndpoint({
      socketPath: await chooseSocketPath(config.runDir),
      pipeDir: config.runDir,
      log,
      onEvent: async (event, signal) => {
        // A permission request after the monitor saw it (it may resume a session); anything else that may
        // settle open requests before: a SessionEnd ends monitoring, and with it the session token.
        if (event.hook_event_name === 'PermissionRequest') {
          await monitor.handleHook(event)
          return approvals.handleHook(event, signal)
        }
        const answer = approvals.handleHook(event, signal)
        await monitor.handleHook(event)
        return answer
      },
    })
    await writeRunFile(runFile, {
      socket: hooks.socketPath,
      token: hooks.token,
      pid: process.pid,
      pid_start: processStartTime(process.pid),
      claude_pid: config.claudePid,
      session_id_at_spawn: config.claudeSessionId ?? null,
      started_at: new Date().toISOString(),
    })
  } catch (error) {
    // The tools still work; hook events cannot reach this process until the directory is fixed.
    log.error({ err: error }, `hook events cannot be received: ${(error as Error).message}`)
  }
  monitor = createMonitor({
    paths,
    api,
    outbox,
    log,
    claudeSessionId,
    heartbeatIntervalMs: config.heartbeatIntervalMs,
    thresholds: { inactivityMs: config.inactivityThresholdMs, doneMs: config.doneThresholdMs },
    beforeFinish: () => approvals.endAll(),
  })

  const hasDisplay = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY)
  const ctx: ToolContext = {
    config,
    paths,
    api,
    auth,
    monitor,
    approvals,
    outbox,
    log,
    login: {},
    now: () => new Date(),
    async openUrl(url) {
      if (!config.openBrowser || config.remoteShell || !hasDisplay) return false
      try {
        // Loaded on first use: most sessions never open a browser (only /sms-notifier:sms-setup does).
        const { default: open } = await import('open')
        await open(url)
        return true
      } catch (error) {
        log.info({ err: error }, 'could not open a browser; the URL is in the answer')
        return false
      }
    },
  }

  // The SDK validates JSON schemas only for elicitation, which these tools never use; its default Ajv
  // instance costs ~3 MB and ~20 ms at every start, so it is built on first use instead.
  let ajv: AjvJsonSchemaValidator | undefined
  const lazyJsonSchemaValidator: jsonSchemaValidator = { getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema) }
  const server = new McpServer({ name: 'claude-sms-notifier', version: '0.1.0' }, { jsonSchemaValidator: lazyJsonSchemaValidator })
  const tools = [setup, pair, start, stop, logout, status] as const
  for (const tool of tools) {
    const run = tool.handler as (ctx: ToolContext, args: never) => Promise<ToolAnswer>
    server.registerTool(tool.name, { description: tool.description, inputSchema: tool.inputSchema }, async (args: unknown) => {
      let result: ToolAnswer
      try {
        await resumed
        result = await run(ctx, (args ?? {}) as never)
      } catch (error) {
        log.error({ err: error, tool: tool.name }, 'tool failed')
        result = refusal([`${tool.name} failed unexpectedly: ${(error as Error).message}. The MCP server log has details.`], { error: 'internal' })
      }
      // "Resumed monitoring of ..." and the like: told once, with whatever the person asked next.
      const notices = monitor.takeNotices()
      if (notices.length) {
        result.content.unshift({ type: 'text', text: notices.join('\n') })
        result.structuredContent.notices = notices
        result.structuredContent.message = [...notices, result.structuredContent.message].filter(Boolean).join('\n')
      }
      return result
    })
  }

  let stopping = false
  async function shutdown(why: string) {
    if (stopping) return
    stopping = true
    log.info({ why }, 'shutting down')
    monitor.pause()
    // Claude Code (2.1.331) stops this process with SIGINT when the session ends, before it runs the
    // SessionEnd hooks, so the forwarder finds nobody to tell: the end of this process is the end of the
    // session. The "done" event and the stop go to the outbox on disk first; what the flush below cannot
    // send, the next MCP server process of this user sends. A crash (kill -9) skips this, and the next
    // process for the session resumes monitoring instead.
    await Promise.race([
      monitor.handleHook({ hook_event_name: 'SessionEnd', session_id: claudeSessionId, reason: 'exit' }).catch((e) => log.warn({ err: e }, 'could not record the end of the session')),
      new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS / 3)),
    ])
    const flushed = outbox.flush({ force: true, deadlineMs: SHUTDOWN_FLUSH_MS }).catch((e) => log.warn({ err: e }, 'last flush failed'))
    await Promise.race([flushed, new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS + 100))])
    outbox.close()
    await removeRunFile(runFile).catch(() => undefined)
    await hooks?.close().catch(() => undefined)
    // Also when a newer process of this Claude took over the run file: this socket and its directory are ours.
    if (hooks) await removeSocket(hooks.socketPath, config.runDir).catch(() => undefined)
    process.exit(0)
  }
  // A bug in one timer callback must not end monitoring silently: log it and carry on (state is on disk).
  process.on('unhandledRejection', (error) => log.error({ err: error }, 'unhandled rejection'))
  process.on('uncaughtException', (error) => log.error({ err: error }, 'uncaught exception'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.stdin.on('end', () => void shutdown('stdin closed'))
  process.stdin.on('close', () => void shutdown('stdin closed'))

  // Started before the MCP connection answers, and every tool call waits for it: the first answer tells the
  // person monitoring resumed. tools/list does not wait for it.
  const resumed: Promise<unknown> = monitor.resume()
  await server.connect(new StdioServerTransport())
  log.info({ claude_pid: config.claudePid, hook_socket: hooks?.socketPath }, 'MCP server ready')

  // What a previous process (of any session of this user) could not send goes out now.
  void outbox.flush({ force: true }).catch((e) => log.error({ err: e }, 'outbox flush failed'))
  setInterval(() => void auth.fresh().catch((e) => log.warn({ err: e }, 'pairing check failed')), AUTH_CHECK_MS).unref()
}
