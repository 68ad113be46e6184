import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claudeCli, claudeHome } from '../support/claude-cli.js'
import { useTestDatabase } from '../support/db.js'
import { inOrder, toolNames, toolResults, userText, type MessagesRequest } from '../support/messages-api.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { explain, hookResponses, pairedPerson, recordingNode, runSession, tool } from './session.js'

/**
 * The plugin loaded by the real Claude Code CLI (`claude -p --plugin-dir <checkout>`), its model a
 * scripted Messages API on 127.0.0.1, its MCP server talking to the real server app, which texts
 * through the real twilio SDK to the local Twilio-compatible endpoint.
 */
const cli = await claudeCli()
if ('unavailable' in cli) console.warn(`SKIPPED the end-to-end suite: the Claude Code CLI could not be installed (${cli.unavailable}). Run node scripts/install-claude-code.mjs.`)
const bin = 'bin' in cli ? cli.bin : ''
const checkout = resolve('.')
const FORWARDER = resolve('hooks/forward.js')
const MCP_SERVER = resolve('dist/mcp/main.js')

describe.skipIf(!bin)('the plugin in Claude Code, loaded with --plugin-dir', () => {
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

  function expectStarted(request: MessagesRequest) {
    const [started] = toolResults(request)
    if (!started || started.isError) throw new Error(`sms_start failed: ${started?.text ?? JSON.stringify(request.messages.at(-1))}`)
  }

  it('texts the error of a failing Bash command in a monitored session, with its description', async () => {
    const home = claudeHome()
    const { phone } = await pairedPerson(db.sql, server, home)
    const node = recordingNode()
    let errorText: string | undefined
    const run = await runSession({
      bin,
      home,
      server,
      node,
      pluginDir: checkout,
      prompt: '/sms-notifier:sms-start Migrate the billing database',
      allowedTools: [tool('sms_start'), 'Bash'],
      script: inOrder(
        (request) => {
          if (!toolNames(request).includes(tool('sms_start'))) throw new Error(`sms_start is not offered: ${toolNames(request).join(', ')}`)
          // The command expanded into its instruction, arguments included.
          if (!userText(request).includes('set to "Migrate the billing database"')) throw new Error(`/sms-start did not expand: ${userText(request)}`)
          // /sms-start expanded into its instruction, arguments included.
          if (!JSON.stringify(request.messages).includes('set to \\"Migrate the billing database\\"')) throw new Error(`/sms-start did not expand: ${JSON.stringify(request.messages).slice(0, 2000)}`)
          return [{ type: 'tool_use', name: tool('sms_start'), input: { description: 'Migrate the billing database' } }]
        },
        (request) => {
          expectStarted(request)
          return [{ type: 'tool_use', name: 'Bash', input: { command: 'ls /no/such/billing-dump', description: 'Find the billing dump' } }]
        },
        async (request) => {
          expect(toolResults(request)[0]?.isError).toBe(true)
          // The model carries on only once the text is out: the session's end cannot race the error.
          errorText = (await textsArrive(phone, 1))[0]
          return 'The billing dump is missing.'
        },
      ),
    })
    expect(run.code, explain(run)).toBe(0)
    expect(errorText).toContain('⚠️')
    expect(errorText).toContain('"Migrate the billing database"')
    expect(errorText).toMatch(/Error: .*No such file or directory/)
    expect(node.scripts()).toContain(MCP_SERVER)
    expect(node.scripts()).toContain(FORWARDER)
    expect(hookResponses(run).find((h) => h.event === 'PostToolUseFailure')).toMatchObject({ exitCode: 0, outcome: 'success', stdout: '' })
  })

  it('texts "done" when a monitored session ends', async () => {
    const home = claudeHome()
    const { phone } = await pairedPerson(db.sql, server, home)
    const run = await runSession({
      bin,
      home,
      server,
      node: recordingNode(),
      pluginDir: checkout,
      prompt: '/sms-notifier:sms-start Write the release notes',
      allowedTools: [tool('sms_start')],
      script: inOrder(
        () => [{ type: 'tool_use', name: tool('sms_start'), input: { description: 'Write the release notes' } }],
        (request) => {
          expectStarted(request)
          return 'Release notes written.'
        },
      ),
    })
    expect(run.code, explain(run)).toBe(0)
    const [done] = await textsArrive(phone, 1)
    expect(done).toContain('✅')
    expect(done).toContain('"Write the release notes"')
    expect(done).toContain('Completed successfully!')
  })

  it('costs an unmonitored session nothing: a failing tool texts nothing and starts no node for hooks', async () => {
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
        () => [{ type: 'tool_use', name: 'Bash', input: { command: 'ls /no/such/billing-dump', description: 'Find the billing dump' } }],
        () => 'The billing dump is missing.',
      ),
    })
    expect(run.code, explain(run)).toBe(0)
    // The hook ran and succeeded (it is synchronous), yet the only node started was the MCP server.
    expect(hookResponses(run).find((h) => h.event === 'PostToolUseFailure')).toMatchObject({ exitCode: 0, outcome: 'success', stdout: '' })
    expect(node.scripts()).toEqual([MCP_SERVER])
    expect(textsTo(phone)).toEqual([])
  })
})
