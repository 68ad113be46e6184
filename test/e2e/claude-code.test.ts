import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claudeCli, claudeHome } from '../support/claude-cli.js'
import { useTestDatabase } from '../support/db.js'
import { inOrder, userText, type MessagesRequest } from '../support/messages-api.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { explain, failingCommandScenario, FAILING_COMMAND, hookResponses, pairedPerson, quietSessionScenario, recordingNode, runSession } from './session.js'

/**
 * The plugin loaded by the real Claude Code CLI (`claude -p --plugin-dir <checkout>`), its model a
 * scripted Messages API on 127.0.0.1, its MCP server talking to the real server app, which texts
 * through the real twilio SDK to the local Twilio-compatible endpoint.
 */
const cli = await claudeCli()
if ('unavailable' in cli) console.warn(`SKIPPED the end-to-end suite: the Claude Code CLI could not be installed (${cli.unavailable}). Run node scripts/install-claude-code.mjs.`)
const bin = 'bin' in cli ? cli.bin : ''
const checkout = resolve('.')
const MCP_SERVER = resolve('dist/mcp/main.js')

describe.skipIf(!bin)('the plugin in Claude Code, loaded with --plugin-dir', { timeout: 60_000 }, () => {
  const db = useTestDatabase()
  let twilio: TwilioEndpoint
  let server: TestServer

  beforeAll(async () => {
    twilio = await startTwilioEndpoint()
    server = await startTestServer({ sql: db.sql, twilio, name: 'e2e-plugin-dir' })
  })
  afterAll(async () => {
    await server?.close()
    await twilio?.close()
  })

  const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone).map((m) => m.body)
  /** Resolves once `count` texts reached this phone (the endpoint's own timeout bounds the wait). */
  async function textsArrive(phone: string, count: number): Promise<string[]> {
    for (let n = twilio.messages.length; textsTo(phone).length < count; n++) await twilio.waitForMessages(n + 1)
    return textsTo(phone)
  }

  it('texts the error of a failing Bash command in a monitored session, with its description', async () => {
    const home = claudeHome()
    const { phone } = await pairedPerson(db.sql, server, home)
    const node = recordingNode()
    const scenario = failingCommandScenario('Migrate the billing database', async () => (await textsArrive(phone, 1))[0]!)
    const run = await runSession({ bin, home, server, node, pluginDir: checkout, ...scenario })
    expect(run.code, explain(run)).toBe(0)
    const text = scenario.errorText()
    expect(text).toContain('⚠️')
    expect(text).toContain('"Migrate the billing database"')
    expect(text).toMatch(/Error: .*No such file or directory/)
    // The hooks delivered with curl: the only node started was the MCP server.
    expect(node.scripts()).toEqual([MCP_SERVER])
    expect(node.curlRuns().length).toBeGreaterThan(0)
    expect(hookResponses(run).find((h) => h.event === 'PostToolUseFailure')).toMatchObject({ exitCode: 0, outcome: 'success', stdout: '' })
  })

  // Claude Code 2.1.331 stops the MCP server (SIGINT) before it runs SessionEnd hooks (its debug log:
  // "Sending SIGINT to MCP server process", then "SessionEnd:other ... completed"), so the forwarder
  // finds no server: the MCP server itself treats its shutdown while monitoring as the session's end.
  it('texts "done" when a monitored session ends', async () => {
    const home = claudeHome()
    const { phone } = await pairedPerson(db.sql, server, home)
    const run = await runSession({ bin, home, server, node: recordingNode(), pluginDir: checkout, ...quietSessionScenario('Write the release notes') })
    expect(run.code, explain(run)).toBe(0)
    const [done] = await textsArrive(phone, 1)
    expect(done).toContain('✅')
    expect(done).toContain('"Write the release notes"')
    expect(done).toContain('Completed successfully!')
  })

  // The plugin's answers and pages name its commands in full (/sms-notifier:sms-start) because the pinned
  // Claude Code runs a plugin command only by that name; typed short, it is not a command at all.
  it('runs a command typed as the answers name it, and not one typed without the plugin\'s name', async () => {
    const home = claudeHome()
    const seen: string[] = []
    const script = (request: MessagesRequest) => {
      seen.push(userText(request))
      return 'ok'
    }
    const short = await runSession({ bin, home, server, node: recordingNode(), pluginDir: checkout, prompt: '/sms-status', allowedTools: [], script })
    expect(short.code, explain(short)).toBe(0)
    expect(seen.at(-1)).toMatch(/no command with that name[\s\S]*\/sms-notifier:sms-status/)
    const full = await runSession({ bin, home, server, node: recordingNode(), pluginDir: checkout, prompt: '/sms-notifier:sms-status', allowedTools: [], script })
    expect(full.code, explain(full)).toBe(0)
    expect(seen.at(-1)).toContain('<command-name>/sms-notifier:sms-status</command-name>')
    expect(seen.at(-1)).toContain('mcp__plugin_sms-notifier_sms__sms_status')
  })

  it('costs an unmonitored session nothing: a failing tool texts nothing and starts neither node nor curl for hooks', async () => {
    const home = claudeHome()
    const { phone } = await pairedPerson(db.sql, server, home)
    const node = recordingNode()
    const run = await runSession({
      bin,
      home,
      server,
      node,
      pluginDir: checkout,
      prompt: 'Find the billing dump',
      allowedTools: ['Bash'],
      script: inOrder(
        () => [{ type: 'tool_use', name: 'Bash', input: { command: FAILING_COMMAND, description: 'Find the billing dump' } }],
        () => 'The billing dump is missing.',
      ),
    })
    expect(run.code, explain(run)).toBe(0)
    // The hook ran and succeeded (it is synchronous), yet the only node started was the MCP server.
    expect(hookResponses(run).find((h) => h.event === 'PostToolUseFailure')).toMatchObject({ exitCode: 0, outcome: 'success', stdout: '' })
    expect(node.scripts()).toEqual([MCP_SERVER])
    expect(node.curlRuns()).toEqual([])
    expect(textsTo(phone)).toEqual([])
  })
})
