import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { pluginDirs, startMcp, type McpProcess } from '../support/mcp-client.js'
import { queuedInOutbox, writePairing } from '../support/plugin-pairing.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { until } from '../support/until.js'
import { pairedUser, testPhone } from '../support/users.js'

// The plugin's side of an outage: the notifier server unreachable for long enough that the outbox
// uses up every retry it allows itself, then back. The MCP server is the bundled one (node
// dist/mcp/main.js over stdio with the MCP SDK client); hooks are posted as the forwarder posts them.

const db = useTestDatabase()
let twilio: TwilioEndpoint
let server: TestServer
const running: McpProcess[] = []

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  server = await startTestServer({ sql: db.sql, twilio, name: 'plugin-outage' })
})
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
})
afterAll(async () => {
  await server?.close()
  await twilio?.close()
})


async function pairedPlugin() {
  const phone = testPhone()
  const { accessToken } = await pairedUser(db.sql, server.config, { phone })
  const dirs = pluginDirs()
  writePairing(dirs, server.url, accessToken, phone)
  // Retries start at 10 ms, so the 10 tries one process allows itself are used up in seconds.
  const p = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: server.url, CLAUDE_SMS_RETRY_BASE_MS: '10', CLAUDE_SMS_HEARTBEAT_INTERVAL: '200', CLAUDE_SMS_INACTIVITY_THRESHOLD: '300' } })
  running.push(p)
  expect((await p.call('sms_start', { description: 'nightly import' })).isError).toBe(false)
  return { p, dirs, phone }
}

const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)

describe('the server unreachable for a long stretch', () => {
  it('every queued event is texted once when it is back; a waiting text the person made moot is never sent', async () => {
    const { p, dirs, phone } = await pairedPlugin()
    await server.goDown()
    try {
      await p.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'psql: connection refused' })
      // Claude asks, nobody answers for the threshold: a waiting text is queued ...
      await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'Shall I retry the import with a smaller batch?' })
      await p.waitForLog(/"event_type":"waiting".*"msg":"event queued"/)
      // ... then the person answers before it could go out: it must never reach the phone.
      await p.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'yes, 500 rows' })
      await p.waitForLog(/dropped queued waiting events/)
      // A second question nobody answers stays queued.
      await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'Import paused at row 90,000. Continue?' })
      await until('the second waiting text is queued', () => p.stderr.filter((l) => /"event_type":"waiting".*"msg":"event queued"/.test(l)).length === 2)
      // The outbox has given up retrying on its own: only a sign of life from the server restarts it.
      await p.waitForLog(/"attempts":10,.*outbox send failed/, 30_000)
      expect(queuedInOutbox(dirs)).toBe(2)
    } finally {
      await server.comeBack()
    }
    // The next heartbeat that gets through sends the queue.
    await until('the outbox is empty', () => queuedInOutbox(dirs) === 0)
    const bodies = textsTo(phone).map((m) => m.body)
    expect(bodies.filter((b) => b.startsWith('⚠️'))).toHaveLength(1)
    expect(bodies.filter((b) => b.startsWith('⏳'))).toHaveLength(1)
    expect(bodies.find((b) => b.startsWith('⏳'))).toContain('Continue?')
    expect(bodies.join('\n')).not.toContain('smaller batch')
    const [row] = await db.sql`select count(*)::int as n from session_events e join monitoring_sessions s on s.id = e.session_id where s.user_id = (select user_id from monitoring_sessions order by created_at desc limit 1)`
    expect(row!.n).toBe(2)
  }, 90_000)
})
