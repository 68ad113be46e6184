import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { HookEvent } from '../../mcp/events.js'
import { removeRunFile, runFilePath, startHookEndpoint, writeRunFile, type HookEndpoint } from '../../mcp/hook-endpoint.js'
import { createMcpLogger } from '../../mcp/log.js'

let endpoint: HookEndpoint | undefined
afterEach(async () => {
  await endpoint?.close()
  endpoint = undefined
})

async function start() {
  const events: HookEvent[] = []
  endpoint = await startHookEndpoint({ log: createMcpLogger('silent'), onEvent: async (e) => void events.push(e) })
  const post = (body: unknown, auth: string = `Bearer ${endpoint!.token}`) =>
    fetch(`http://127.0.0.1:${endpoint!.port}/`, { method: 'POST', headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(5_000) })
  return { events, post }
}

const stop = { session_id: 's1', transcript_path: '/t.jsonl', cwd: '/w', hook_event_name: 'Stop', last_assistant_message: 'done' }

describe('the hook endpoint', () => {
  it('takes the hook JSON with the bearer token, and answers without a body when there is no decision', async () => {
    const { events, post } = await start()
    const res = await post(stop)
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(events).toMatchObject([{ hook_event_name: 'Stop', last_assistant_message: 'done', transcript_path: '/t.jsonl' }])
  })

  it('refuses requests without the token, or with another one: 401 and nothing recorded', async () => {
    const { events, post } = await start()
    expect((await post(stop, '')).status).toBe(401)
    expect((await post(stop, 'Bearer not-the-token')).status).toBe(401)
    expect((await post(stop, endpoint!.token)).status).toBe(401)
    expect(events).toEqual([])
  })

  it('answers bad bodies with 400 and keeps running', async () => {
    const { events, post } = await start()
    expect((await post('{not json')).status).toBe(400)
    expect((await post({ session_id: 's1' })).status).toBe(400)
    expect((await post(stop)).status).toBe(204)
    expect(events).toHaveLength(1)
  })

  it('answers a PermissionRequest with exactly the decision JSON when there is one', async () => {
    const decision = { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }
    endpoint = await startHookEndpoint({ log: createMcpLogger('silent'), onEvent: async (e) => (e.hook_event_name === 'PermissionRequest' ? decision : undefined) })
    const res = await fetch(`http://127.0.0.1:${endpoint.port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify({ ...stop, hook_event_name: 'PermissionRequest', tool_name: 'Bash', tool_input: { command: 'make' } }),
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe(JSON.stringify(decision))
  })

  it('tells the event\'s handler when the hook went away before its answer', async () => {
    let aborted!: () => void
    let arrived!: () => void
    const gone = new Promise<void>((r) => (aborted = r))
    const held = new Promise<void>((r) => (arrived = r))
    endpoint = await startHookEndpoint({
      log: createMcpLogger('silent'),
      onEvent: (_e, signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => (aborted(), resolve(undefined)))
          arrived()
        }),
    })
    const client = new AbortController()
    const res = fetch(`http://127.0.0.1:${endpoint.port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify({ ...stop, hook_event_name: 'PermissionRequest' }),
      signal: client.signal,
    }).catch((e: Error) => e)
    await held
    client.abort()
    await gone
    expect(await res).toBeInstanceOf(Error)
  })

  it('writes its run file 0600 under run/<claude pid>.json and removes only its own', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'plugin-data-')), 'run')
    const file = runFilePath(dir, 4242)
    const content = { port: 1, token: 't', pid: process.pid, claude_pid: 4242, session_id_at_spawn: 's1', started_at: new Date().toISOString() }
    await writeRunFile(file, content)
    expect(readdirSync(dir)).toEqual(['4242.json'])
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(content)
    // A newer MCP server process of the same Claude wrote its own: the old one leaves it alone.
    await writeRunFile(file, { ...content, pid: process.pid + 1 })
    await removeRunFile(file)
    expect(readdirSync(dir)).toEqual(['4242.json'])
    await removeRunFile(file, process.pid + 1)
    expect(readdirSync(dir)).toEqual([])
  })
})
