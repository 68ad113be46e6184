import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { claudeCli, claudeEnv, claudeHome, type ClaudeHome } from '../support/claude-cli.js'
import { useTestDatabase } from '../support/db.js'
import { phoneOf, settledRow } from '../support/phone.js'
import { startMessagesApi, toolNames, toolResults, userText, type inOrder, type MessagesApi, type ReplyBlock, type Script } from '../support/messages-api.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { startTerminal, type Terminal } from '../support/tmux.js'
import { pairedPerson, PLUGIN, tool } from './session.js'

/**
 * Answering a permission request from the phone, with the real Claude Code CLI in interactive mode
 * (under tmux, where its permission dialog is on screen), the plugin loaded with --plugin-dir, its model
 * the scripted Messages API, its MCP server talking to the real server, which texts the request through
 * the real twilio SDK to the local Twilio endpoint. The test plays the person's phone: it reads the tag
 * from the request text and replies with a signed inbound webhook, as Twilio forwards a reply.
 */
const cli = await claudeCli()
const bin = 'bin' in cli ? cli.bin : ''
const checkout = resolve('.')
const API_KEY = 'sk-ant-e2e-dummy-key'

/** What an interactive Claude Code needs in a fresh HOME to go straight to its prompt (DESIGN §3). */
function interactiveHome(home: ClaudeHome) {
  mkdirSync(join(home.home, '.claude'), { recursive: true })
  // 2.1.331 otherwise offers auto mode (a dialog at start), whose safety check needs Anthropic's servers.
  writeFileSync(join(home.home, '.claude', 'settings.json'), JSON.stringify({ permissions: { defaultMode: 'default', disableAutoMode: 'disable', allow: [tool('sms_start')] } }))
  writeFileSync(
    join(home.home, '.claude.json'),
    JSON.stringify({
      hasCompletedOnboarding: true,
      projects: { [home.project]: { hasTrustDialogAccepted: true } },
      customApiKeyResponses: { approved: [API_KEY.slice(-20)], rejected: [] },
    }),
  )
}

/** The plugin's MCP server is up once it wrote its run file (the forwarder's way to it). */
async function mcpServerUp(home: ClaudeHome, terminal: Terminal, timeoutMs = 60_000) {
  const data = join(home.home, '.claude', 'plugins', 'data')
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    const runFiles = existsSync(data) ? readdirSync(data).flatMap((d) => (existsSync(join(data, d, 'run')) ? readdirSync(join(data, d, 'run')) : [])) : []
    if (runFiles.some((f) => f.endsWith('.json'))) return
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`the plugin's MCP server did not start; the terminal shows:\n${await terminal.screen()}`)
}

/**
 * The scenario's steps in order, once the plugin's tools are offered. A prompt typed as soon as the MCP
 * server started can reach the model before Claude Code listed the plugin's tools; Claude Code then
 * offers WaitForMcpServers, which the scripted model calls, as a real model would.
 */
function untilPluginConnected(...steps: Parameters<typeof inOrder>): Script {
  let step = 0
  return (request) => {
    if (!toolNames(request).includes(tool('sms_start'))) {
      if (step === 0 && toolNames(request).includes('WaitForMcpServers')) return [{ type: 'tool_use', name: 'WaitForMcpServers', input: {} }]
      throw new Error(`sms_start is not offered: ${toolNames(request).join(', ')}`)
    }
    return steps[step++]?.(request) ?? 'Done.'
  }
}

/**
 * Types the prompt and presses Enter once it is on screen. An Enter that arrives while Claude Code is
 * still taking in the typed text (it treats fast input as a paste) can be swallowed: when the model hears
 * nothing, Enter is pressed again, as a person would.
 */
async function submitPrompt(terminal: Terminal, api: MessagesApi, prompt: string) {
  await terminal.type(prompt)
  await terminal.waitFor(new RegExp(prompt.slice(-20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
  for (let attempt = 0; attempt < 5 && api.requests.length === 0; attempt++) {
    await terminal.press('Enter')
    const until = Date.now() + 2_000
    while (api.requests.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100))
  }
}

/** A wait that, when it fails, says what the terminal and the scripted model show. */
async function orExplain<T>(waiting: Promise<T>, terminal: Terminal, api: MessagesApi): Promise<T> {
  try {
    return await waiting
  } catch (error) {
    const failures = api.failures.map((e) => `scripted model: ${e.message}`).join('\n')
    throw new Error(`${(error as Error).message}\n${failures}\nthe terminal shows:\n${await terminal.screen()}`, { cause: error })
  }
}

describe.skipIf(!bin)('answering a permission request from the phone, in interactive Claude Code', { timeout: 120_000 }, () => {
  const db = useTestDatabase()
  const twilio = useTwilioEndpoint()
  const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'e2e-approvals' }))

  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  })

  /**
   * The person starts monitoring with approvals (/sms-start --approvals), then Claude asks to run a
   * Bash command that creates a file; the scripted model's last step waits for the command's result.
   */
  async function deploySession(description: string, opts: { approvals?: boolean; call?: (marker: string) => ReplyBlock } = {}) {
    const approvals = opts.approvals ?? true
    const home = claudeHome()
    interactiveHome(home)
    const phone = phoneOf({ twilio, sql: db.sql, server }, (await pairedPerson(db.sql, server, home)).phone)
    const marker = join(home.project, 'deployed.txt')
    let finished!: (result: { text: string; isError: boolean }) => void
    const commandResult = new Promise<{ text: string; isError: boolean }>((r) => (finished = r))
    const api: MessagesApi = await startMessagesApi(
      untilPluginConnected(
        (request) => {
          if (approvals && !userText(request).includes('--approvals')) throw new Error(`/sms-start did not expand: ${userText(request)}`)
          return [{ type: 'tool_use', name: tool('sms_start'), input: { description, ...(approvals ? { approvals: true } : {}) } }]
        },
        (request) => {
          const [started] = toolResults(request)
          if (!started || started.isError || !(approvals ? /Approvals by text are on/ : /Approvals by text are off/).test(started.text)) throw new Error(`sms_start: ${started?.text}`)
          return [opts.call?.(marker) ?? { type: 'tool_use', name: 'Bash', input: { command: `echo deployed >> ${marker}`, description: 'Deploy billing' } }]
        },
        (request) => {
          finished(toolResults(request)[0] ?? { text: JSON.stringify(request.messages.at(-1)), isError: true })
          return 'Deployed.'
        },
      ),
    )
    cleanups.push(() => api.close())
    const env = claudeEnv(home, api.url, {
      ANTHROPIC_API_KEY: API_KEY,
      CLAUDE_SMS_AUTH_URL: server.url,
      CLAUDE_SMS_INACTIVITY_THRESHOLD: '1000',
      CLAUDE_SMS_RETRY_BASE_MS: '50',
    })
    const terminal = await startTerminal({ command: bin, args: ['--plugin-dir', checkout], env, cwd: home.project })
    cleanups.push(() => terminal.close())
    await mcpServerUp(home, terminal)
    await terminal.waitFor(/for shortcuts|>\s*$/m)
    await submitPrompt(terminal, api, `/${PLUGIN}:sms-start ${approvals ? '--approvals ' : ''}${description}`)
    return { home, phone, terminal, marker, commandResult, api }
  }

  it('the phone allows (Y <tag>): the dialog closes and the command runs', async () => {
    const { phone, terminal, marker, commandResult, api } = await deploySession('Deploy billing')
    const request = await orExplain(phone.nextRequest(), terminal, api)
    expect(request.row).toMatchObject({ kind: 'permission', tool_name: 'Bash', summary: expect.stringContaining('echo deployed >>') })
    expect(request.text).toContain('Wants to run: echo deployed >>')
    await terminal.waitFor(/Do you want to proceed\?/)
    expect(await phone.reply(`Y ${request.tag}`)).toBe(`Allowed Bash (${request.tag}).`)
    const result = await orExplain(commandResult, terminal, api)
    expect(result.isError, result.text).toBe(false)
    expect(readFileSync(marker, 'utf8')).toBe('deployed\n')
    expect(await terminal.waitFor(/Deployed\./)).not.toMatch(/Do you want to proceed\?/)
  })

  it('the person answers at the terminal first: the hook goes silent, and a later reply is told it was already allowed there', async () => {
    const { phone, terminal, marker, commandResult, api } = await deploySession('Deploy billing again')
    const request = await orExplain(phone.nextRequest(), terminal, api)
    await terminal.waitFor(/Do you want to proceed\?/)
    await terminal.press('Enter') // "1. Yes"
    const result = await orExplain(commandResult, terminal, api)
    expect(result.isError, result.text).toBe(false)
    expect(await settledRow(db.sql, request.row.id)).toMatchObject({ status: 'settled_elsewhere', decided_by: 'terminal', evidence: 'PostToolUse', terminal_decision: 'allowed' })
    // A late reply from the phone finds it settled, says so, and nothing runs twice.
    expect(await phone.reply(`Y ${request.tag}`)).toMatch(new RegExp(`^${request.tag} was already allowed at the terminal at \\d\\d:\\d\\d\\.$`))
    expect(readFileSync(marker, 'utf8')).toBe('deployed\n')
    expect(await terminal.waitFor(/Deployed\./)).not.toMatch(/PermissionRequest hook/)
  })

  it('the phone denies (N <tag>): the command does not run, and Claude is told it was denied by text', async () => {
    const { phone, terminal, marker, commandResult, api } = await deploySession('Deploy billing, maybe')
    const request = await orExplain(phone.nextRequest(), terminal, api)
    await terminal.waitFor(/Do you want to proceed\?/)
    expect(await phone.reply(`n ${request.tag} not on a Friday`)).toBe(`Denied Bash (${request.tag}).`)
    const result = await orExplain(commandResult, terminal, api)
    expect(result.isError).toBe(true)
    expect(result.text).toContain(`Denied by text from +1***${phone.number.slice(-4)}: not on a Friday`)
    expect(existsSync(marker)).toBe(false)
  })

  it("Claude's question (AskUserQuestion): a numbered reply reaches Claude as the person's answer", async () => {
    const question = 'Which region should the deploy go to?'
    const questions = [{ question, header: 'Region', options: [{ label: 'eu-west-1', description: 'Ireland' }, { label: 'us-east-1', description: 'Virginia' }], multiSelect: false }]
    const { phone, terminal, commandResult, api } = await deploySession('Deploy billing somewhere', { call: () => ({ type: 'tool_use', name: 'AskUserQuestion', input: { questions } }) })
    const request = await orExplain(phone.nextRequest(), terminal, api)
    expect(request.row).toMatchObject({ kind: 'question', tool_name: 'AskUserQuestion', questions: [{ question, options: [{ label: 'eu-west-1' }, { label: 'us-east-1' }] }] })
    expect(request.text).toContain(`${question}\n1 eu-west-1\n2 us-east-1\nReply 2 ${request.tag} to pick 2`)
    await phone.reply(`2 ${request.tag}`)
    const result = await orExplain(commandResult, terminal, api)
    expect(result.isError, result.text).toBe(false)
    expect(result.text).toMatch(/answered/i)
    expect(result.text).toContain('us-east-1')
  })

  it('approvals off: no request text; the waiting text names the command Claude wants to run', async () => {
    const { phone, terminal, marker, commandResult, api } = await deploySession('Deploy billing by hand', { approvals: false })
    await orExplain(terminal.waitFor(/Do you want to proceed\?/), terminal, api)
    const text = await orExplain(phone.nextText(0), terminal, api)
    expect(text).toContain('⏳')
    expect(text).toContain(`Wants to run: echo deployed >> ${marker}`)
    expect(text).not.toMatch(/Reply Y/)
    await terminal.press('Enter') // the person answers at the terminal
    expect((await orExplain(commandResult, terminal, api)).isError).toBe(false)
    expect(readFileSync(marker, 'utf8')).toBe('deployed\n')
    expect(await db.sql`select a.id from approval_requests a join monitoring_sessions s on s.id = a.session_id where s.description = 'Deploy billing by hand'`).toEqual([])
    expect(phone.texts().filter((t) => /Reply Y|Reply \d/.test(t))).toEqual([])
  })
})
