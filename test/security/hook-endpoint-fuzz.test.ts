import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { postToHookSocket } from '../support/hook-socket.js'
import { pluginDirs, startMcp, type McpProcess } from '../support/mcp-client.js'
import { writePairing } from '../support/plugin-pairing.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

// The MCP server's hook endpoint listens on a Unix socket that any program of this user can reach. Random
// bodies, methods, content types and tokens must never take it down or break the monitoring of the
// session it serves: the real MCP process (dist/mcp/main.js), a monitored session, 1,500 requests.

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'hook-endpoint-fuzz' }))
let mcp: McpProcess
let phone: string

beforeAll(async () => {
  phone = testPhone()
  const { accessToken } = await pairedUser(db.sql, server.config, { phone })
  const dirs = pluginDirs()
  writePairing(dirs, server.url, accessToken, phone)
  mcp = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: server.url, CLAUDE_SMS_LOG_LEVEL: 'warn' } })
  expect((await mcp.call('sms_start', { description: 'fuzzed hooks' })).isError).toBe(false)
})
afterAll(async () => {
  await mcp?.close()
})

const HOOK_NAMES = ['UserPromptSubmit', 'PostToolUseFailure', 'StopFailure', 'Stop', 'Notification', 'PreToolUse', 'PostToolUse', 'Unknown', '']
const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  // Hook-shaped JSON with fields of every type (SessionEnd left out: it would end the monitoring).
  fc.record({ hook_event_name: fc.oneof(fc.constantFrom(...HOOK_NAMES), fc.jsonValue()), session_id: fc.oneof(fc.string(), fc.jsonValue()), tool_name: fc.jsonValue(), error: fc.jsonValue(), message: fc.jsonValue(), last_assistant_message: fc.jsonValue(), notification_type: fc.jsonValue(), prompt: fc.jsonValue() }, { requiredKeys: ['hook_event_name'] }).map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.integer({ min: 50, max: 5_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  fc.constantFrom('', '{', 'null', '"Stop"', '{"__proto__":{"hook_event_name":"Stop"}}'),
)

describe('the hook endpoint under random input', () => {
  it('answers 2xx/4xx only (401 without its token), never crashes, and the session it serves still reports failures', async () => {
    const run = mcp.runFile()!
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.constantFrom('valid', 'none', 'wrong', 'garbage'),
        fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT', 'DELETE'),
        fc.option(fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded')),
        async (body, auth, method, contentType) => {
          const headers: Record<string, string> = {}
          if (contentType) headers['content-type'] = contentType
          const authorization = { valid: `Bearer ${run.token}`, wrong: `Bearer ${run.token.slice(0, -2)}xx`, garbage: body.slice(0, 50).replace(/[^\t\x20-\x7e]/g, ''), none: undefined }[auth]
          const res = await postToHookSocket(run.socket, method === 'GET' ? undefined : body, { method, headers, authorization, timeoutMs: 10_000 })
          expect(res.status).toBeLessThan(500)
          if (auth !== 'valid') expect(res.status).toBe(401)
        },
      ),
      { numRuns: 1_500, endOnFailure: true },
    )
    // Still alive and still monitoring: a failing tool now reaches the server (texted, or held by the
    // rate limit when the fuzz already caused an error text).
    expect((await mcp.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'after the fuzz' })).status).toBe(204)
    const deadline = Date.now() + 15_000
    let rows: readonly unknown[] = []
    while (!rows.length && Date.now() < deadline) {
      rows = await db.sql`select 1 from session_events where details->>'error' = 'after the fuzz' and outcome in ('sent', 'rate_limited')`
      if (!rows.length) await new Promise((r) => setTimeout(r, 50))
    }
    expect(rows).toHaveLength(1)
    expect(twilio.messages.every((m) => m.to === phone)).toBe(true)
  }, 180_000)
})
