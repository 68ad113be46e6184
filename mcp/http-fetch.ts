import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'

/**
 * The fetch ky uses in the MCP server (ky's `fetch` option): one request over node:http or node:https.
 * Node's own fetch (undici) keeps a connection pool and an HTTP parser compiled to WebAssembly per
 * connection; in this process, which lives as long as a Claude Code session, that cost ~15 MB from the
 * first request and grew with every request (docs/performance.md). ky keeps doing what it does
 * (timeouts through the request's signal, JSON, errors); only the transport is Node's http module.
 */
export async function nodeHttpFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const request = input instanceof Request ? input : new Request(input, init)
  const url = new URL(request.url)
  const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined
  const headers: Record<string, string> = Object.fromEntries(request.headers)
  if (body) headers['content-length'] = String(body.length)
  const send = url.protocol === 'https:' ? (await import('node:https')).request : httpRequest
  const options: RequestOptions = { method: request.method, headers, signal: request.signal }
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, options, resolve)
    req.on('error', reject)
    req.end(body)
  })
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  const responseHeaders = new Headers()
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) responseHeaders.append(name, v)
  }
  const status = res.statusCode ?? 502
  // A Response with status 204, 205 or 304 must have a null body.
  const nullBody = status === 204 || status === 205 || status === 304
  return new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: responseHeaders })
}
