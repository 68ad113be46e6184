import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { listenOnLoopback } from './listen.js'

/**
 * A scripted Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline
 * (ANTHROPIC_BASE_URL). Each request of the conversation is answered by the scenario's script with
 * the text or tool calls the scenario needs, streamed as Server-Sent Events the way the real API
 * streams them: message_start, content_block_start / _delta / _stop per block, message_delta,
 * message_stop (docs.anthropic.com, "Streaming Messages").
 */

export type ReplyBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown> }
/** A plain string is one text block. */
export type Reply = string | ReplyBlock[]

export interface ContentBlock {
  type: string
  text?: string
  name?: string
  id?: string
  input?: unknown
  tool_use_id?: string
  content?: string | { type: string; text?: string }[]
  is_error?: boolean
}

export interface MessagesRequest {
  model: string
  messages: { role: 'user' | 'assistant'; content: string | ContentBlock[] }[]
  tools?: { name: string; description?: string }[]
  system?: unknown
  stream?: boolean
}

/** A tool's outcome as Claude Code reports it back to the model. */
export interface ToolResult {
  text: string
  isError: boolean
}

/** Answers one request of the main conversation; may await an outside signal before answering. */
export type Script = (request: MessagesRequest, turn: number) => Reply | Promise<Reply>

export interface MessagesApi {
  /** Give this to ANTHROPIC_BASE_URL. */
  url: string
  /** Every Messages request, side requests (no tools offered) included. */
  requests: MessagesRequest[]
  /** What went wrong inside a script: answered with HTTP 400, and kept here for the test to report. */
  failures: Error[]
  close(): Promise<void>
}

/** Text of a tool_result content, whichever shape Claude Code used. */
function resultText(content: ContentBlock['content']): string {
  if (typeof content === 'string') return content
  return (content ?? []).map((c) => c.text ?? '').join('\n')
}

/** The results of the tool calls the previous reply made, in order. */
export function toolResults(request: MessagesRequest): ToolResult[] {
  const last = request.messages.at(-1)
  if (!last || typeof last.content === 'string') return []
  return last.content.filter((b) => b.type === 'tool_result').map((b) => ({ text: resultText(b.content), isError: b.is_error === true }))
}

/** Everything the user side said so far, as plain text (prompts, expanded commands, reminders). */
export function userText(request: MessagesRequest): string {
  return request.messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => (typeof m.content === 'string' ? [m.content] : m.content.map((b) => b.text ?? '')))
    .join('\n')
}

/** The names of the tools Claude Code offered in this request. */
export const toolNames = (request: MessagesRequest) => (request.tools ?? []).map((t) => t.name)

/**
 * A script that answers the conversation's requests in order, one step each; once the steps run out
 * it ends the turn with a short text.
 */
export function inOrder(...steps: ((request: MessagesRequest) => Reply | Promise<Reply>)[]): Script {
  return (request, turn) => steps[turn]?.(request) ?? 'Done.'
}

export async function startMessagesApi(script: Script): Promise<MessagesApi> {
  const requests: MessagesRequest[] = []
  const failures: Error[] = []
  let turn = 0

  const { url, close } = await listenOnLoopback(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const path = req.url?.split('?')[0] ?? ''
    if (req.method === 'POST' && path === '/v1/messages/count_tokens') return json(res, 200, { input_tokens: 100 })
    if (req.method !== 'POST' || path !== '/v1/messages') return json(res, 404, { type: 'error', error: { type: 'not_found_error', message: `${req.method} ${path} is not scripted` } })
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MessagesRequest
    requests.push(request)
    let reply: Reply
    try {
      // Side requests (a session title, a summary) offer no tools; they are not part of the scenario.
      reply = request.tools?.length ? await script(request, turn++) : 'ok'
    } catch (error) {
      failures.push(error as Error)
      // A 400 is not retried: the session ends at once with this message instead of retrying the script.
      return json(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: `scripted model failed: ${(error as Error).message}` } })
    }
    if (request.stream === false) return json(res, 200, message(request.model, blocksOf(reply)))
    stream(res, request.model, blocksOf(reply))
  })
  return { url, requests, failures, close }
}

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }

function blocksOf(reply: Reply): Block[] {
  const blocks = typeof reply === 'string' ? [{ type: 'text' as const, text: reply }] : reply
  return blocks.map((b) => (b.type === 'tool_use' ? { ...b, id: `toolu_${randomBytes(12).toString('hex')}` } : b))
}

const stopReason = (blocks: Block[]) => (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn')
const usage = { input_tokens: 100, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
const messageId = () => `msg_${randomBytes(12).toString('hex')}`

function message(model: string, blocks: Block[]) {
  return { id: messageId(), type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason(blocks), stop_sequence: null, usage }
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(8).toString('hex')}` })
  res.end(JSON.stringify(body))
}

function stream(res: ServerResponse, model: string, blocks: Block[]) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': `req_${randomBytes(8).toString('hex')}` })
  const send = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`)
  send('message_start', { message: { ...message(model, []), stop_reason: null, usage: { ...usage, output_tokens: 1 } } })
  blocks.forEach((block, index) => {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '' } })
      send('content_block_delta', { index, delta: { type: 'text_delta', text: block.text } })
    } else {
      send('content_block_start', { index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } })
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } })
    }
    send('content_block_stop', { index })
  })
  send('message_delta', { delta: { stop_reason: stopReason(blocks), stop_sequence: null }, usage: { output_tokens: usage.output_tokens } })
  send('message_stop', {})
  res.end()
}
