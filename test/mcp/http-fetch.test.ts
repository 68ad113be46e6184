import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync } from 'node:fs'
import { globalAgent, createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi, ServerRejected, ServerUnreachable } from '../../mcp/api.js'

// The MCP server's API client is ky over node:http(s) (mcp/http-fetch.ts). Deployed servers are https:
// a real TLS server on 127.0.0.1 with a certificate made for the test, trusted by this process only.
const dir = mkdtempSync(join(tmpdir(), 'https-'))
const haveOpenssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']).status === 0

describe.runIf(haveOpenssl)('the API client over https', () => {
  const received: { url: string; authorization?: string; body: string }[] = []
  let url = ''
  let server: ReturnType<typeof createServer>
  beforeAll(async () => {
    const cert = readFileSync(join(dir, 'cert.pem'))
    globalAgent.options.ca = cert
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, async (req, res) => {
      let body = ''
      for await (const chunk of req) body += chunk
      received.push({ url: req.url ?? '', authorization: req.headers.authorization, body })
      if (req.url?.includes('/heartbeat')) return // never answered: the client's timeout ends it
      if (req.url?.includes('/stop')) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' })
        return res.end(JSON.stringify({ error: 'rate_limited', message: 'Slow down', details: {}, request_id: 'r1' }))
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ access_token: 'new-token', token_type: 'Bearer', expires_in: 3600, expires_at: new Date(Date.now() + 3_600_000).toISOString() }))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    globalAgent.options.ca = undefined
    server?.closeAllConnections()
    server?.close()
  })

  it('posts JSON with the bearer token and reads the answer', async () => {
    const api = createApi()
    const answer = await api.refresh(url, 'old-token')
    expect(answer).toMatchObject({ access_token: 'new-token' })
    expect(received.at(-1)).toEqual({ url: '/auth/refresh', authorization: 'Bearer old-token', body: '{}' })
  })

  it('reports the server\'s error body, status and Retry-After', async () => {
    const error = await createApi().stopSession(url, 'm1', 'tok', { reason: 'user', ended_at: new Date().toISOString() }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerRejected)
    expect(error).toMatchObject({ status: 429, code: 'rate_limited', message: 'Slow down', retryAfterMs: 7_000 })
  })

  it('gives up on a server that does not answer, as unreachable', async () => {
    const error = await createApi({ timeoutMs: 300 }).heartbeat(url, 'm1', 'tok', { timestamp: new Date().toISOString(), last_activity: null }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ServerUnreachable)
    expect((error as Error).message).toMatch(/timed out/)
  })
})
