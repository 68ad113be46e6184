import { randomBytes, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { z } from 'zod'
import { HookEvent } from './events.js'
import type { Logger } from './log.js'
import { readJson, removeFile, writeJsonAtomic } from './store.js'

/**
 * Where the hook forwarder delivers Claude Code's hook JSON (DESIGN §3): HTTP on 127.0.0.1:0 with a
 * random bearer token, so other local users and web pages cannot inject events. The answer comes
 * only after onEvent resolved, i.e. after the event is on disk: SessionEnd hooks get 1.5 s in all.
 * The answer has no body (204) unless onEvent resolved with a decision for a PermissionRequest hook:
 * then 200 with exactly the JSON the hook prints on stdout. `signal` aborts when the hook went away
 * before its answer (Claude Code killed it at its timeout, or exited).
 */
export interface HookEndpoint {
  port: number
  token: string
  close(): Promise<void>
}

const MAX_BODY_BYTES = 1_000_000

export type HookAnswer = { hookSpecificOutput: Record<string, unknown> }

export async function startHookEndpoint(opts: { onEvent: (event: HookEvent, signal: AbortSignal) => Promise<HookAnswer | undefined | void>; log: Logger; token?: string }): Promise<HookEndpoint> {
  const token = opts.token ?? randomBytes(32).toString('base64url')
  const expected = Buffer.from(`Bearer ${token}`)

  const reply = (res: ServerResponse, status: number, body: Record<string, unknown>) => {
    if (res.headersSent) return
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close' })
    res.end(JSON.stringify(body))
  }

  const authorized = (req: IncomingMessage) => {
    const given = Buffer.from(req.headers.authorization ?? '')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  const server = createServer(async (req, res) => {
    try {
      if (!authorized(req)) return reply(res, 401, { error: 'unauthorized', message: 'Bearer token required' })
      if (req.method !== 'POST') return reply(res, 405, { error: 'method_not_allowed', message: 'POST the hook JSON' })
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of req) {
        size += (chunk as Buffer).length
        if (size > MAX_BODY_BYTES) return reply(res, 413, { error: 'payload_too_large', message: 'hook JSON over 1 MB' })
        chunks.push(chunk as Buffer)
      }
      let json: unknown
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return reply(res, 400, { error: 'invalid_request', message: 'body must be the hook JSON' })
      }
      const event = HookEvent.safeParse(json)
      if (!event.success) return reply(res, 400, { error: 'invalid_request', message: 'hook JSON needs a hook_event_name' })
      const gone = new AbortController()
      res.on('close', () => gone.abort())
      const decision = await opts.onEvent(event.data, gone.signal)
      if (decision) return reply(res, 200, decision)
      if (res.headersSent) return
      res.writeHead(204, { connection: 'close' })
      res.end()
    } catch (error) {
      opts.log.error({ err: error }, 'hook event failed')
      reply(res, 500, { error: 'server_error', message: 'the MCP server could not record the event' })
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export const RunFile = z.object({
  port: z.number().int(),
  token: z.string(),
  pid: z.number().int(),
  claude_pid: z.number().int(),
  session_id_at_spawn: z.string().nullable(),
  started_at: z.string(),
})
export type RunFile = z.infer<typeof RunFile>

/** $CLAUDE_PLUGIN_DATA/run/<claude pid>.json: how the forwarder finds this session's MCP server. */
export function runFilePath(runDir: string, claudePid: number): string {
  return join(runDir, `${claudePid}.json`)
}

export async function writeRunFile(file: string, content: RunFile): Promise<void> {
  await writeJsonAtomic(file, content)
}

/** Removes the run file unless a newer MCP server process of the same Claude already replaced it. */
export async function removeRunFile(file: string, pid = process.pid): Promise<void> {
  const current = await readJson(file, RunFile)
  if (current && current.pid !== pid) return
  await removeFile(file)
}
