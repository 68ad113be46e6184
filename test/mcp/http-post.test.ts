import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { postJson } from '../../mcp/http-post.js'
import { listenOnLoopback, type Listening } from '../support/listen.js'

// The MCP server's HTTP client (node:http, kept-alive sockets): what the api module builds on.
let server: Listening | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function readBody(req: AsyncIterable<Buffer>) {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}

describe('postJson', () => {
  it('posts JSON with the given headers and returns status, headers and body', async () => {
    server = await listenOnLoopback(async (req, res) => {
      const body = await readBody(req)
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' })
      res.end(JSON.stringify({ got: JSON.parse(body), type: req.headers['content-type'], auth: req.headers.authorization }))
    })
    const answer = await postJson(`${server.url}/sessions/x/events`, { event_type: 'error' }, { headers: { authorization: 'Bearer t' }, timeoutMs: 5_000 })
    expect(answer.status).toBe(429)
    expect(answer.headers['retry-after']).toBe('30')
    expect(JSON.parse(answer.text)).toEqual({ got: { event_type: 'error' }, type: 'application/json', auth: 'Bearer t' })
  })

  it('gives up at the timeout when the server never answers', async () => {
    server = await listenOnLoopback(() => undefined)
    await expect(postJson(server.url, {}, { timeoutMs: 200 })).rejects.toMatchObject({ name: 'TimeoutError' })
  })

  it('sends again on a fresh socket when the server closed the kept-alive one as it was reused', async () => {
    const sockets = new Set<Socket>()
    let requests = 0
    server = await listenOnLoopback(async (req, res) => {
      requests++
      await readBody(req)
      // The second request arrives on the socket the first one used: close it without an answer, as a
      // server whose keep-alive timeout just ran out does.
      if (sockets.has(req.socket)) return void req.socket.destroy()
      sockets.add(req.socket)
      res.end('{"ok":true}')
    })
    expect((await postJson(server.url, {}, { timeoutMs: 5_000 })).text).toBe('{"ok":true}')
    expect((await postJson(server.url, {}, { timeoutMs: 5_000 })).text).toBe('{"ok":true}')
    expect(requests).toBe(3)
  })
})
