import { once } from 'node:events'
import { mkdtempSync, readdirSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createApi } from '../../mcp/api.js'
import { createMcpLogger } from '../../mcp/log.js'
import { backoffMs, createOutbox, defaultRetryPolicy, type NewEntry } from '../../mcp/outbox.js'

/**
 * A stand-in for the notifier server's session routes: answers each request from a script and
 * records what arrived. The real server is used in test/mcp/plugin.test.ts.
 */
async function scriptedServer() {
  const received: { path: string; body: Record<string, unknown>; auth: string | undefined }[] = []
  const script: { status: number; body: unknown; headers?: Record<string, string> }[] = []
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}'), auth: req.headers.authorization })
    const next = script.shift() ?? { status: 200, body: sent() }
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers })
    res.end(JSON.stringify(next.body))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    script,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  }
}
const sent = () => ({ sms_sent: true, sms_id: 'SM1', rate_limited: false, next_allowed_at: null })
const limited = { sms_sent: false, rate_limited: true, next_allowed_at: '2026-01-01T12:30:00.000Z', retry_after: 1800 }

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0)) await c()
})

// Retries run when the test flushes, never on a real timer behind its back.
const noTimers = { setTimeout: () => undefined, clearTimeout: () => undefined }

function setup(serverUrl: string, dir = mkdtempSync(join(tmpdir(), 'outbox-'))) {
  let now = new Date('2026-01-01T12:00:00Z')
  const outbox = createOutbox({ dir, api: createApi({ timeoutMs: 2_000 }), log: createMcpLogger('silent'), now: () => now, retry: defaultRetryPolicy(1_000), random: () => 0.5, timers: noTimers })
  closers.push(() => outbox.close())
  const event = (event_type: 'error' | 'done' | 'waiting', monitoring_id = 'mon_1'): NewEntry => ({
    kind: 'event',
    server_url: serverUrl,
    monitoring_id,
    session_token: `tok_${monitoring_id}`,
    claude_session_id: 'claude-1',
    request: { event_type, timestamp: now.toISOString(), details: { error: 'Exit code 1' } },
  })
  return { outbox, dir, event, advance: (ms: number) => (now = new Date(now.getTime() + ms)) }
}

describe('the outbox', () => {
  it('writes every event to disk (0600, in a 0700 directory) before anything is sent', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, dir, event } = setup(server.url)
    const entry = await outbox.add(event('error'))
    expect(server.received).toHaveLength(0)
    const [name] = readdirSync(dir)
    expect(name).toContain(entry.id)
    expect(statSync(join(dir, name!)).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    await outbox.flush()
    expect(server.received).toMatchObject([{ path: '/sessions/mon_1/events', auth: 'Bearer tok_mon_1', body: { event_type: 'error', event_id: entry.id } }])
    expect(readdirSync(dir)).toEqual([])
  })

  it('keeps an event through server failures and sends it again with the same event_id, with growing backoff', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event, advance } = setup(server.url)
    server.script.push({ status: 503, body: { error: 'service_unavailable', message: 'down', details: {}, request_id: 'req_1' } }, { status: 500, body: {} })
    const entry = await outbox.add(event('error'))
    expect((await outbox.flush()).remaining).toBe(1)
    // Not due yet: backoff after the first failure is base (1 s) at jitter 0.5 → 1 s.
    advance(999)
    await outbox.flush()
    expect(server.received).toHaveLength(1)
    advance(1)
    await outbox.flush()
    expect(server.received).toHaveLength(2)
    advance(1_999) // second backoff is 2 s
    await outbox.flush()
    expect(server.received).toHaveLength(2)
    advance(1)
    const report = await outbox.flush()
    expect(report.settled.get(entry.id)?.outcome).toBe('delivered')
    expect(server.received.map((r) => r.body.event_id)).toEqual([entry.id, entry.id, entry.id])
    expect(await outbox.pending()).toEqual([])
  })

  it('counts a rate-limited answer (429, the server kept the event) as delivered', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event } = setup(server.url)
    server.script.push({ status: 429, body: limited })
    const entry = await outbox.add(event('error'))
    const report = await outbox.flush()
    expect(report.settled.get(entry.id)).toEqual({ outcome: 'delivered', answer: limited })
    expect(await outbox.pending()).toEqual([])
  })

  it('retries a per-IP 429 (an error body, nothing recorded), after Retry-After', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event, advance } = setup(server.url)
    server.script.push({ status: 429, body: { error: 'rate_limited', message: 'slow down', details: {}, request_id: 'req_2' }, headers: { 'retry-after': '30' } })
    await outbox.add(event('error'))
    expect((await outbox.flush()).remaining).toBe(1)
    advance(29_000)
    await outbox.flush()
    expect(server.received).toHaveLength(1)
    advance(1_000)
    expect((await outbox.flush()).remaining).toBe(0)
  })

  it('keeps a session\'s order: a stop never overtakes the events before it', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event, advance } = setup(server.url)
    server.script.push({ status: 502, body: {} })
    await outbox.add(event('error'))
    await outbox.add({ kind: 'stop', server_url: server.url, monitoring_id: 'mon_1', session_token: 'tok_mon_1', claude_session_id: 'claude-1', request: { reason: 'user_stopped', ended_at: '2026-01-01T12:00:00.000Z' } })
    await outbox.flush()
    expect(server.received.map((r) => r.path)).toEqual(['/sessions/mon_1/events'])
    advance(60_000)
    server.script.push({ status: 200, body: sent() }, { status: 200, body: { stopped: true, session_summary: { duration_seconds: 60, sms_sent: 1, errors_encountered: 1 } } })
    await outbox.flush()
    expect(server.received.map((r) => r.path)).toEqual(['/sessions/mon_1/events', '/sessions/mon_1/events', '/sessions/mon_1/stop'])
  })

  it('drops what the server will never take (session gone) instead of blocking the queue', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event } = setup(server.url)
    server.script.push({ status: 401, body: { error: 'unauthorized', message: 'session token revoked', details: {}, request_id: 'r' } })
    await outbox.add(event('error'))
    await outbox.add(event('done'))
    const report = await outbox.flush()
    expect([...report.settled.values()].map((d) => d.outcome)).toEqual(['rejected', 'delivered'])
  })

  it('drops a queued waiting text when the wait ended, and keeps the rest', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const { outbox, event } = setup(server.url)
    await outbox.add(event('waiting'))
    await outbox.add(event('error'))
    await outbox.add(event('waiting', 'mon_other'))
    expect(await outbox.dropWaiting('mon_1')).toBe(1)
    expect((await outbox.pending()).map((e) => [e.monitoring_id, e.event_type])).toEqual([
      ['mon_1', 'error'],
      ['mon_other', 'waiting'],
    ])
  })

  it('is picked up by another process: a new outbox on the same directory sends what a dead one left', async () => {
    const server = await scriptedServer()
    closers.push(server.close)
    const first = setup(server.url)
    const entry = await first.outbox.add(first.event('done'))
    first.outbox.close() // the process died before sending
    const second = setup(server.url, first.dir)
    const report = await second.outbox.flush()
    expect(report.settled.get(entry.id)?.outcome).toBe('delivered')
    expect(server.received).toMatchObject([{ auth: 'Bearer tok_mon_1', body: { event_id: entry.id, event_type: 'done' } }])
  })

  it('backs off exponentially up to a cap, with jitter between 0.5x and 1.5x', () => {
    const policy = defaultRetryPolicy(1_000)
    expect([1, 2, 3, 4].map((n) => backoffMs(n, policy, () => 0.5))).toEqual([1_000, 2_000, 4_000, 8_000])
    expect(backoffMs(30, policy, () => 0.5)).toBe(policy.capMs)
    expect(backoffMs(1, policy, () => 0)).toBe(500)
    expect(backoffMs(1, policy, () => 0.999)).toBe(1_499)
  })
})
