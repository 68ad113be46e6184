import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'

export interface PostAnswer {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

// Connections to the server are kept open between calls (a heartbeat every 30 s, events in bursts).
// Idle sockets do not keep the process alive: Node unrefs a socket while it waits in the pool.
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) }

/**
 * POSTs a JSON body and reads the whole answer, within `timeoutMs` for everything. node:http rather
 * than fetch: the MCP server runs for the length of every Claude Code session, and fetch (undici)
 * costs it ~15 MB of memory from the first request on, for a handful of requests a minute.
 * A kept-alive socket the server closed just as it was reused fails with ECONNRESET before any
 * answer: that request is sent again once on a fresh socket (Node's documented remedy).
 */
export async function postJson(url: string, body: unknown, opts: { headers?: Record<string, string>; timeoutMs: number }): Promise<PostAnswer> {
  const target = new URL(url)
  const payload = Buffer.from(JSON.stringify(body))
  const deadline = Date.now() + opts.timeoutMs
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(target, payload, opts.headers ?? {}, Math.max(1, deadline - Date.now()))
    } catch (error) {
      if (attempt === 1 && (error as { reusedSocket?: boolean }).reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET') continue
      throw error
    }
  }
}

function once(target: URL, payload: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<PostAnswer> {
  const agent = target.protocol === 'https:' ? agents['https:'] : target.protocol === 'http:' ? agents['http:'] : undefined
  if (!agent) return Promise.reject(new Error(`unsupported protocol ${target.protocol}`))
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = request(target, {
      method: 'POST',
      agent,
      headers: { accept: 'application/json', 'content-type': 'application/json', 'content-length': String(payload.length), ...headers },
    })
    const timer = setTimeout(() => {
      const error = new Error(`no answer within ${timeoutMs} ms`)
      error.name = 'TimeoutError'
      req.destroy(error)
    }, timeoutMs)
    const fail = (error: Error) => {
      clearTimeout(timer)
      reject(Object.assign(error, { reusedSocket: req.reusedSocket }))
    }
    req.on('error', fail)
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', fail)
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })
      })
    })
    req.end(payload)
  })
}
