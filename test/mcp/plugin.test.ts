import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { testPhone } from '../support/users.js'

/**
 * The plugin's MCP server as Claude Code runs it (node dist/mcp/main.js over stdio, the real MCP SDK
 * client), against the real server app, its PostgreSQL, and the real twilio SDK texting the local
 * Twilio-compatible endpoint. Hook events are posted the way the forwarder posts them.
 */
const db = useTestDatabase()
let twilio: TwilioEndpoint
let server: TestServer

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  // Every pairing here comes from 127.0.0.1: lift the per-address pairing limit (10 an hour).
  server = await startTestServer({ sql: db.sql, twilio, name: 'plugin', pairingLimits: { perIpPerHour: 1_000 } })
})
afterAll(async () => {
  await server?.close()
  await twilio?.close()
})

const running: McpProcess[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
})

async function mcp(dirs: PluginDirs, env: Record<string, string | undefined> = {}, sessionId = 'session-1') {
  const p = await startMcp({ dirs, sessionId, env: { CLAUDE_SMS_AUTH_URL: server.url, CLAUDE_SMS_RETRY_BASE_MS: '50', ...env } })
  running.push(p)
  return p
}


const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)
async function nextTextTo(phone: string): Promise<string> {
  const seen = textsTo(phone).length
  for (let n = twilio.messages.length + 1; textsTo(phone).length <= seen; n++) await twilio.waitForMessages(n)
  return textsTo(phone).at(-1)!.body
}
const codeIn = (body: string) => /\b(\d{6})\b/.exec(body)?.[1] ?? ''

/** Remote-mode pairing, reading the code from the text the endpoint recorded. */
async function pair(p: McpProcess, phone = testPhone()) {
  const textSent = nextTextTo(phone)
  const setup = await p.call('sms_setup', { phone })
  expect(setup.text).toMatch(/Code sent by text to \+1\*\*\*\d{4}\.\nCheck your phone, then run \/sms-notifier:sms-pair <code>/)
  const paired = await p.call('sms_pair', { code: codeIn(await textSent) })
  expect(paired.isError).toBe(false)
  return phone
}

const mode = (file: string) => statSync(file).mode & 0o777

describe('pairing a phone', () => {
  it('in the browser: the page redirects to the loopback listener, the code from the text pairs', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    const setup = await p.call('sms_setup')
    const url = new URL(String(setup.structured.url))
    expect(setup.text).toContain(url.toString())
    expect(setup.text).toMatch(/\/sms-notifier:sms-pair <code>/)
    expect(url.origin + url.pathname).toBe(`${server.url}/login`)
    const callbackUri = url.searchParams.get('callback_uri')!
    expect(callbackUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)

    // The person's browser: the page, the form, the 303 back to the plugin.
    expect((await fetch(url)).status).toBe(200)
    const phone = testPhone()
    const textSent = nextTextTo(phone)
    const posted = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ phone, state: url.searchParams.get('state')!, callback_uri: callbackUri }).toString(),
    })
    expect(posted.status).toBe(303)
    const back = await fetch(posted.headers.get('location')!)
    expect(await back.text()).toContain('/sms-notifier:sms-pair')
    const code = codeIn(await textSent)

    const wrong = await p.call('sms_pair', { code: code === '000000' ? '111111' : '000000' })
    expect(wrong.text).toBe("That code isn't right. Check the text and run /sms-notifier:sms-pair <code> again.")
    const paired = await p.call('sms_pair', { code })
    expect(paired.text).toMatch(/^Paired with \+1\*\*\*\d{4} \(until .*\)[\s\S]*\/sms-notifier:sms-start/)

    const dir = join(dirs.config, 'claude-sms-notifier')
    const authFile = join(dir, 'auth.json')
    expect(mode(dir)).toBe(0o700)
    expect(mode(authFile)).toBe(0o600)
    const auth = JSON.parse(readFileSync(authFile, 'utf8'))
    expect(auth).toMatchObject({ server_url: server.url, phone: `+1***${phone.slice(-4)}` })
    expect(readFileSync(authFile, 'utf8')).not.toContain(phone)
    const status = await p.call('sms_status')
    expect(status.text).toMatch(/Paired with \+1\*\*\*\d{4}/)
    // The token is renewed while in use; the pairing itself ends 30 days (TOKEN_FAMILY_MAX_DAYS) after it began.
    expect(Date.parse(String(status.structured.pairing_expires_at)) - Date.now()).toBeGreaterThan(29 * 24 * 3_600_000)
    expect(status.text).toMatch(/The pairing ends \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC; then run \/sms-notifier:sms-setup to pair again\./)
  })
})

describe('a monitored session', () => {
  it('texts a failed tool, refuses a second start, and reports the stop', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    const phone = await pair(p)
    const start = await p.call('sms_start', { description: 'migrate billing to Stripe' })
    expect(start.text).toMatch(/^Monitoring "migrate billing to Stripe"\. Texts go to \+1\*\*\*\d{4}/)
    const runFile = join(dirs.pluginData, 'run', `${process.pid}.json`)
    expect(mode(runFile)).toBe(0o600)
    expect(p.runFile()).toMatchObject({ pid: p.pid, claude_pid: process.pid })
    const sessionFile = join(dirs.config, 'claude-sms-notifier', 'sessions', 'session-1.json')
    expect(mode(sessionFile)).toBe(0o600)

    const again = await p.call('sms_start', { description: 'something else' })
    expect(again.isError).toBe(true)
    expect(again.text).toMatch(/^Session already monitoring\. Use \/sms-notifier:sms-stop first\./)

    const text = nextTextTo(phone)
    const res = await p.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'npm test' }, error: 'Exit code 1\nnpm ERR! missing script: test', is_interrupt: false })
    expect(res).toEqual({ status: 204, body: '' })
    const body = await text
    expect(body).toContain('⚠️')
    expect(body).toContain('migrate billing to Stripe')
    expect(body).toContain('npm ERR! missing script: test')

    const status = await p.call('sms_status')
    expect(status.text).toMatch(/Monitoring "migrate billing to Stripe" since .*last event PostToolUseFailure/)

    const stop = await p.call('sms_stop')
    expect(stop.text).toMatch(/^Stopped monitoring "migrate billing to Stripe" after .*: 1 text sent, 1 error seen\./)
    expect(existsSync(sessionFile)).toBe(false)
    // Not monitored any more: hook events are taken and nothing is texted; a second stop says so.
    expect((await p.hook({ hook_event_name: 'StopFailure', error: 'server_error' })).status).toBe(204)
    expect((await p.call('sms_stop')).text).toMatch(/Not monitoring this session/)
    expect((await p.call('sms_status')).structured).toMatchObject({ monitoring: null, queued: 0 })
    await p.close()
    expect(existsSync(runFile)).toBe(false)
  })

  it('texts "waiting" with Claude\'s question when nobody answers, and never after the person answered', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs, { CLAUDE_SMS_INACTIVITY_THRESHOLD: '300' })
    const phone = await pair(p)
    await p.call('sms_start', { description: 'refactor auth' })
    const text = nextTextTo(phone)
    // A wait the person ends in time: its text must never arrive (it would be the first waiting text).
    await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'First question, answered at once?' })
    await p.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'yes' })
    await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'I changed the session store. Should I also rotate the existing cookies?' })
    const body = await text
    expect(body).toContain('⏳')
    expect(body).toContain('Waiting for input')
    expect(body).toContain('Should I also rotate the existing cookies?')
    expect(body).not.toContain('First question')
  })

  it('texts Claude\'s permission question when nobody answers it, unless Claude got going again', async () => {
    const p = await mcp(pluginDirs(), { CLAUDE_SMS_INACTIVITY_THRESHOLD: '300' })
    const phone = await pair(p)
    await p.call('sms_start', { description: 'infra changes' })
    const text = nextTextTo(phone)
    // Granted at once: Claude's next tool use ends that wait.
    await p.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'apply it' })
    await p.hook({ hook_event_name: 'Notification', message: 'Claude needs your permission to use Bash', notification_type: 'permission_prompt' })
    await p.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash' })
    await p.hook({ hook_event_name: 'Notification', message: 'Claude needs your permission to use Write', notification_type: 'permission_prompt' })
    const body = await text
    expect(body).toContain('⏳')
    expect(body).toContain('Claude needs your permission to use Write')
  })

  it('texts "done" when a turn ran longer than the done threshold', async () => {
    const p = await mcp(pluginDirs(), { CLAUDE_SMS_DONE_THRESHOLD: '0' })
    const phone = await pair(p)
    await p.call('sms_start', { description: 'nightly cleanup' })
    const done = nextTextTo(phone)
    await p.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'go' })
    await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'All done.' })
    const body = await done
    expect(body).toContain('✅')
    expect(body).toContain('nightly cleanup')
  })

  it('on session end the done event is on disk before the hook is answered, and a later process sends it', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    const phone = await pair(p)
    await p.call('sms_start', { description: 'release 2.0' })
    await server.goDown()
    try {
      const res = await p.hook({ hook_event_name: 'SessionEnd', reason: 'prompt_input_exit' })
      expect(res.status).toBe(204)
      const outbox = join(dirs.config, 'claude-sms-notifier', 'outbox')
      const queued = readdirSync(outbox).map((n) => JSON.parse(readFileSync(join(outbox, n), 'utf8')))
      expect(queued.map((e) => e.event_type ?? e.kind)).toEqual(['done', 'stop'])
      for (const n of readdirSync(outbox)) expect(mode(join(outbox, n))).toBe(0o600)
      await p.close() // Claude Code stops the MCP server right after SessionEnd
      expect(p.runFile()).toBeUndefined()
    } finally {
      await server.comeBack()
    }
    // Another MCP server process of the same user (another session) sends what is left.
    const sessionEnd = nextTextTo(phone)
    const other = await mcp(dirs, {}, 'session-2')
    const body = await sessionEnd
    expect(body).toContain('✅')
    expect(body).toContain('release 2.0')
    await other.waitForLog(/"kind":"stop".*outbox entry delivered/)
    expect((await other.call('sms_status')).text).not.toMatch(/queued/)
  })
})

describe('when things break', () => {
  it('Claude Code stopping the MCP server right after SessionEnd still gets the done text out', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    const phone = await pair(p)
    await p.call('sms_start', { description: 'quick fix' })
    const text = nextTextTo(phone)
    expect((await p.hook({ hook_event_name: 'SessionEnd', reason: 'other' })).status).toBe(204)
    await p.close() // stdin closes at once, as SIGINT would
    expect(await text).toContain('quick fix')
  })

  it('queues events while the server is down and texts each exactly once when it is back', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs, { CLAUDE_SMS_DONE_THRESHOLD: '0', CLAUDE_SMS_HEARTBEAT_INTERVAL: '200' })
    const phone = await pair(p)
    await p.call('sms_start', { description: 'long migration' })
    await server.goDown()
    try {
      await p.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'connection refused' })
      await p.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'retry' })
      await p.hook({ hook_event_name: 'Stop', last_assistant_message: 'Migration finished.' })
      expect((await p.call('sms_status')).text).toMatch(/2 alerts queued/)
    } finally {
      await server.comeBack()
    }
    const before = textsTo(phone).length
    for (let n = twilio.messages.length + 1; textsTo(phone).length < before + 2; n++) await twilio.waitForMessages(n)
    // The stop goes out behind both events; the server's count proves nothing was texted twice.
    const stop = await p.call('sms_stop')
    expect(stop.text).toMatch(/2 texts sent, 1 error seen/)
    const bodies = textsTo(phone).slice(before).map((m) => m.body)
    expect(bodies.filter((b) => b.includes('⚠️'))).toHaveLength(1)
    expect(bodies.filter((b) => b.includes('✅'))).toHaveLength(1)
  })

  it('after kill -9, a new MCP server process for the same session resumes monitoring and says so', async () => {
    const dirs = pluginDirs()
    const first = await mcp(dirs)
    const phone = await pair(first)
    await first.call('sms_start', { description: 'data backfill' })
    process.kill(first.pid, 'SIGKILL')
    await first.exited

    const second = await mcp(dirs)
    const status = await second.call('sms_status')
    expect(status.text).toMatch(/^Resumed monitoring of "data backfill"/)
    expect(status.text).toMatch(/Monitoring "data backfill" since/)
    expect(second.runFile()).toMatchObject({ pid: second.pid })
    const text = nextTextTo(phone)
    await second.hook({ hook_event_name: 'StopFailure', error: 'overloaded', error_details: '529 Overloaded' })
    expect(await text).toContain('overloaded: 529 Overloaded')
    // The notice is told once.
    expect((await second.call('sms_status')).text).not.toMatch(/^Resumed/)
  })

  it('logout revokes on the server and deletes local state; a revoked token anywhere means "pairing expired"', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    await pair(p)
    await p.call('sms_start', { description: 'docs' })
    const authFile = join(dirs.config, 'claude-sms-notifier', 'auth.json')
    const revokedAuth = readFileSync(authFile, 'utf8')
    const out = await p.call('sms_logout')
    expect(out.text).toMatch(/^Logged out: this computer no longer texts \+1\*\*\*\d{4}\./)
    expect(existsSync(authFile)).toBe(false)
    expect(readdirSync(join(dirs.config, 'claude-sms-notifier'))).toEqual([])
    expect((await p.call('sms_start', { description: 'docs' })).text).toBe('Not paired yet. Run /sms-notifier:sms-setup first.')

    // The old token comes back from a backup: the server refuses it, the plugin says what to do.
    writeFileSync(authFile, revokedAuth, { mode: 0o600 })
    expect((await p.call('sms_start', { description: 'docs' })).text).toBe('Your pairing expired. Run /sms-notifier:sms-setup.')
    expect(existsSync(authFile)).toBe(false)
  })

  it('logout works with the server unreachable: local state goes, and the answer says so', async () => {
    const dirs = pluginDirs()
    const p = await mcp(dirs)
    await pair(p)
    await server.goDown()
    try {
      const out = await p.call('sms_logout')
      expect(out.text).toMatch(/could not be reached, so the pairing was removed only here/)
      expect(existsSync(join(dirs.config, 'claude-sms-notifier', 'auth.json'))).toBe(false)
    } finally {
      await server.comeBack()
    }
  })
})
