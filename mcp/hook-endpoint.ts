import { randomBytes, timingSafeEqual } from 'node:crypto'
import { once } from 'node:events'
import { closeSync, constants, fstatSync, openSync, unlinkSync, write } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { HookEvent } from './events.js'
import type { Logger } from './log.js'

/**
 * Where hook commands deliver Claude Code's hook JSON (DESIGN §3): HTTP over a Unix domain socket in
 * a directory only this user can enter (mcp/run-file.ts), plus a random bearer token. The answer comes
 * only after onEvent resolved, i.e. after the event is on disk: SessionEnd hooks get 1.5 s in all.
 *
 * The answer is the hook's output: 204 with no body, unless onEvent resolved with a decision for the
 * hook (a PermissionRequest answered from the phone); then 200 with exactly the JSON the hook command
 * prints on stdout. Hook commands print a body only when it is a 200 starting with {"hookSpecificOutput".
 * `signal` aborts when the hook went away before its answer: Claude Code killed it at its timeout or
 * exited, or its curl gave up at --max-time; either way the socket connection closed.
 *
 * A hook that waits for hours (the PermissionRequest hook, hooks/deliver.sh) need not hold curl and its
 * socket all that time: it makes a FIFO in the run directory (`<claude pid>.wait.<its pid>`, 0600),
 * holds it open, and names it in `X-Answer-Pipe` with its time limit in `X-Answer-Within` (seconds).
 * The endpoint then opens the FIFO for writing, answers 202 at once, and later writes the answer
 * there as one line (the JSON the hook prints) or nothing, removes the FIFO and closes it: the hook,
 * now a lone shell blocked in `read`, prints what it read and exits (EOF when nothing was written, and
 * also when this process dies, since it held the only writer). The hook going away is seen by
 * probing the FIFO for a reader (ENXIO); the time limit is kept here.
 */
export interface HookEndpoint {
  socketPath: string
  token: string
  close(): Promise<void>
}

/** What a hook command prints on stdout, e.g. {"hookSpecificOutput":{"hookEventName":"PermissionRequest",...}}. */
export interface HookAnswer {
  hookSpecificOutput: Record<string, unknown>
  [field: string]: unknown
}

export type OnHookEvent = (event: HookEvent, signal: AbortSignal) => Promise<HookAnswer | undefined | void>

/** A hook JSON up to this size is taken as it is. */
export const MAX_BODY_BYTES = 1_000_000
/**
 * A larger one (a Write of a big file that failed) is still read, up to this, and trimmed: the bulky
 * tool input and output dropped, the error kept (the node forwarder did this before sending; curl
 * cannot). Beyond it the event is refused with 413.
 */
export const MAX_OVERSIZED_BODY_BYTES = 16_000_000
const TRIMMED_TEXT_CHARS = 10_000

/** How often a hook waiting on its FIFO is checked for being still there. */
export const PIPE_PROBE_MS = 1_000
const PIPE_NAME = /^\d{1,10}\.wait\.\d{1,10}$/
const SECONDS = /^\d{1,6}$/

export async function startHookEndpoint(opts: {
  socketPath: string
  onEvent: OnHookEvent
  log: Logger
  token?: string
  /** Where hooks may make their answer FIFOs (the run directory); without it X-Answer-Pipe is ignored. */
  pipeDir?: string
  pipeProbeMs?: number
}): Promise<HookEndpoint> {
  const token = opts.token ?? randomBytes(32).toString('base64url')
  const expected = Buffer.from(`Bearer ${token}`)
  const waiting = new Set<AnswerPipe>()

  const reply = (res: ServerResponse, status: number, body?: Record<string, unknown>) => {
    if (res.headersSent) return
    if (body === undefined) {
      res.writeHead(status, { connection: 'close' })
      res.end()
      return
    }
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
        if (size > MAX_OVERSIZED_BODY_BYTES) return reply(res, 413, { error: 'payload_too_large', message: `hook JSON over ${MAX_OVERSIZED_BODY_BYTES} bytes` })
        chunks.push(chunk as Buffer)
      }
      let json: unknown
      try {
        json = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        return reply(res, 400, { error: 'invalid_request', message: 'body must be the hook JSON' })
      }
      if (size > MAX_BODY_BYTES) json = trimOversizedEvent(json)
      const event = HookEvent.safeParse(json)
      if (!event.success) return reply(res, 400, { error: 'invalid_request', message: 'hook JSON needs a hook_event_name' })
      const pipe = opts.pipeDir === undefined ? undefined : openAnswerPipe(req, opts.pipeDir)
      if (pipe) {
        reply(res, 202)
        return answerThroughPipe(pipe, event.data)
      }
      const gone = new AbortController()
      res.on('close', () => gone.abort())
      const answer = await opts.onEvent(event.data, gone.signal)
      if (isDecision(answer)) reply(res, 200, answer)
      else reply(res, 204)
    } catch (error) {
      opts.log.error({ err: error }, 'hook event failed')
      reply(res, 500, { error: 'server_error', message: 'the MCP server could not record the event' })
    }
  })
  /** The FIFO the hook named, opened for writing; undefined (answer over HTTP) if it is not a FIFO of ours with a reader. */
  function openAnswerPipe(req: IncomingMessage, dir: string): AnswerPipe | undefined {
    const name = req.headers['x-answer-pipe']
    const within = req.headers['x-answer-within']
    if (typeof name !== 'string' || !PIPE_NAME.test(name) || typeof within !== 'string' || !SECONDS.test(within)) return undefined
    const path = join(dir, name)
    let fd: number
    try {
      fd = openSync(path, OPEN_PIPE_FOR_WRITING)
    } catch {
      return undefined
    }
    const stat = fstatSync(fd)
    const uid = process.getuid?.()
    if (!stat.isFIFO() || (uid !== undefined && stat.uid !== uid)) {
      closeSync(fd)
      return undefined
    }
    return { path, fd, withinMs: Number(within) * 1000, gone: new AbortController(), closed: false }
  }

  async function answerThroughPipe(pipe: AnswerPipe, event: HookEvent): Promise<void> {
    waiting.add(pipe)
    const probe = setInterval(() => {
      if (!hasReader(pipe.path)) pipe.gone.abort()
    }, opts.pipeProbeMs ?? PIPE_PROBE_MS)
    const deadline = setTimeout(() => pipe.gone.abort(), pipe.withinMs)
    probe.unref()
    deadline.unref()
    // Gone or out of time: the FIFO is removed and closed now, whenever onEvent settles.
    pipe.gone.signal.addEventListener('abort', () => void finishPipe(pipe, ''), { once: true })
    let answer: HookAnswer | undefined | void
    try {
      answer = await opts.onEvent(event, pipe.gone.signal)
    } catch (error) {
      opts.log.error({ err: error }, 'hook event failed')
    } finally {
      clearInterval(probe)
      clearTimeout(deadline)
    }
    await finishPipe(pipe, isDecision(answer) ? `${JSON.stringify(answer)}\n` : '')
  }

  /** Removes the FIFO, writes the line (if any) and closes it: the hook reads the line, or EOF. */
  async function finishPipe(pipe: AnswerPipe, line: string): Promise<void> {
    if (pipe.closed) return
    pipe.closed = true
    waiting.delete(pipe)
    try {
      unlinkSync(pipe.path)
    } catch {
      // Removed already (the hook gave up and removed it), or the run directory went.
    }
    // One line well under the pipe's 64 KB buffer: written whole while the hook reads.
    if (line) await new Promise<void>((resolve) => write(pipe.fd, line, (error) => (error && opts.log.warn({ err: error }, 'could not hand the answer to the waiting hook'), resolve())))
    closeSync(pipe.fd)
  }

  // A PermissionRequest hook may wait for the phone for as long as its timeout allows.
  server.requestTimeout = 0
  server.listen(opts.socketPath)
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))])
  return {
    socketPath: opts.socketPath,
    token,
    close: async () => {
      // Hooks waiting on a FIFO read EOF and exit, as they would if this process died.
      for (const pipe of [...waiting]) pipe.gone.abort()
      await new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
    },
  }
}

interface AnswerPipe {
  path: string
  fd: number
  withinMs: number
  /** Aborts when the hook went away or its time limit passed. */
  gone: AbortController
  closed: boolean
}

/** O_NONBLOCK: ENXIO rather than a wait when no hook holds the FIFO for reading; O_NOFOLLOW: no links. */
const OPEN_PIPE_FOR_WRITING = constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW

/** An answer the hook prints: one with a hookSpecificOutput object; anything else is answered with nothing. */
const isDecision = (answer: HookAnswer | undefined | void): answer is HookAnswer => Boolean(answer) && typeof answer!.hookSpecificOutput === 'object'

/** Whether some process still holds the FIFO open for reading (the waiting hook). */
function hasReader(path: string): boolean {
  try {
    closeSync(openSync(path, OPEN_PIPE_FOR_WRITING))
    return true
  } catch {
    return false
  }
}

/** A hook JSON over MAX_BODY_BYTES, reduced to what the notifier uses: the error is kept, the bulk dropped. */
export function trimOversizedEvent(json: unknown): unknown {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json
  const event = { ...(json as Record<string, unknown>) }
  for (const bulky of ['tool_input', 'tool_response', 'last_assistant_message']) {
    if (bulky in event) event[bulky] = { omitted: `larger than ${MAX_BODY_BYTES} bytes` }
  }
  for (const long of ['error', 'prompt', 'message']) {
    const value = event[long]
    if (typeof value === 'string') event[long] = value.slice(0, TRIMMED_TEXT_CHARS)
  }
  return event
}
