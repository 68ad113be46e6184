import { request } from 'node:http'

export interface HookReply {
  status: number
  body: string
}

/**
 * One HTTP request to an MCP server's hook endpoint over its Unix socket, as hooks/deliver.sh (curl)
 * and hooks/forward.js send it; `authorization` undefined sends none.
 */
export function postToHookSocket(
  socketPath: string,
  body: string | Buffer | undefined,
  opts: { authorization?: string; method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HookReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: 'localhost', ...opts.headers }
    if (opts.authorization !== undefined) headers.authorization = opts.authorization
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body)
    const req = request({ socketPath, path: '/hook', method: opts.method ?? 'POST', headers, timeout: opts.timeoutMs ?? 5_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} in time`)))
    req.on('error', reject)
    req.end(body)
  })
}
