import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'
import { pollIsWaiting } from '../approvals/support.js'
import { approvalRow, phoneOf, requestsPosted, settledRow } from '../support/phone.js'
import { writePairing } from '../support/plugin-pairing.js'
import { startTestServer, useTestServer, useTwilioEndpoint, type TestServer } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

/**
 * Answering Claude's permission requests from the phone, end to end through the plugin: the MCP server
 * as Claude Code runs it (dist/mcp/main.js, the real MCP SDK client over stdio), the PermissionRequest
 * hook as Claude Code runs it (hooks/forward.js with the hook JSON on stdin; what it prints is what
 * Claude Code reads), the real server (real twilio SDK to the local endpoint, which records the request
 * texts), and the person's replies as Twilio forwards them: signed webhooks to POST /twilio/inbound. The
 * waiting clock is the real one with a short CLAUDE_SMS_INACTIVITY_THRESHOLD; every wait awaits a
 * signal (a text, a log line, the hook's exit, a row of the database).
 */
const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'approvals' }))

const running: McpProcess[] = []
const servers: TestServer[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
  for (const s of servers.splice(0)) await s.close()
})

const HOOKS = JSON.parse(readFileSync('hooks/hooks.json', 'utf8')) as { hooks: Record<string, { hooks: { command: string }[] }[]> }
const PERMISSION_HOOK = HOOKS.hooks.PermissionRequest![0]!.hooks[0]!.command
const SHORT = '300'
const NEVER = '3600000'

/** A paired person whose MCP server monitors a session, with or without approvals by text. */
async function monitoredSession(opts: { approvals?: boolean; threshold?: string; env?: Record<string, string>; on?: TestServer; accountForbids?: boolean } = {}) {
  const target = opts.on ?? server
  const number = testPhone()
  const { user, accessToken } = await pairedUser(db.sql, target.config, { phone: number })
  if (opts.accountForbids) await db.sql`insert into user_settings (user_id, approvals_disabled) values (${user.id}, true) on conflict (user_id) do update set approvals_disabled = true`
  const dirs = pluginDirs()
  writePairing(dirs, target.url, accessToken, number)
  const mcp = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: target.url, CLAUDE_SMS_RETRY_BASE_MS: '50', CLAUDE_SMS_INACTIVITY_THRESHOLD: opts.threshold ?? SHORT, ...opts.env } })
  running.push(mcp)
  const start = await mcp.call('sms_start', { description: 'migrate billing', ...(opts.approvals === undefined ? {} : { approvals: opts.approvals }) })
  expect(start.isError, start.text).toBe(false)
  const phone = phoneOf({ twilio, sql: db.sql, server: target }, number)
  return { phone, userId: user.id, dirs, mcp, start }
}

interface HookRun {
  code: number | null
  stdout: string
  /** Claude Code ending the hook at its timeout. */
  kill(): void
  exited: Promise<{ code: number | null; stdout: string }>
}

/**
 * The PermissionRequest hook as Claude Code runs it: the hooks.json command (sh, deliver.sh, curl) in a
 * process group of its own, with the hook JSON on stdin.
 */
function permissionHook(dirs: PluginDirs, toolName: string, toolInput: Record<string, unknown>): Omit<HookRun, 'code' | 'stdout'> {
  const child = spawn('/bin/sh', ['-c', PERMISSION_HOOK], {
    detached: true,
    env: {
      CLAUDE_PLUGIN_ROOT: resolve('.'),
      PATH: process.env.PATH,
      HOME: dirs.home,
      XDG_CONFIG_HOME: dirs.config,
      CLAUDE_PLUGIN_DATA: dirs.pluginData,
      CLAUDE_PID: String(process.pid), // the MCP server's parent: this test process plays Claude Code
      CLAUDE_CODE_SESSION_ID: 'session-1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stdin.end(
    JSON.stringify({
      session_id: 'session-1',
      transcript_path: '/tmp/t.jsonl',
      cwd: '/work/billing-service',
      permission_mode: 'default',
      hook_event_name: 'PermissionRequest',
      tool_name: toolName,
      tool_input: toolInput,
      permission_suggestions: [],
    }),
  )
  const exited = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout }))
  // Claude Code ends a hook (at its timeout, or when it exits) by signalling its process group.
  return { kill: () => process.kill(-child.pid!, 'SIGTERM'), exited }
}

const allow = { hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } }
const MIGRATE = { command: 'npm run migrate -- --env production', description: 'Run the migrations' }
const eventDetails = async (userId: string, type: string) =>
  (await db.sql<{ details: Record<string, unknown> }[]>`select details from session_events where user_id = ${userId} and event_type = ${type} order by received_at`).map((r) => r.details)
const requestsOf = (userId: string) => db.sql`select id from approval_requests where user_id = ${userId}`

describe('approvals by text are opt-in, decided at the computer', () => {
  it('off by default: the dialog is not held, nothing is asked of the server, and the waiting text says what Claude wants to run', async () => {
    const { phone, userId, dirs, mcp, start } = await monitoredSession()
    expect(start.text).toMatch(/Approvals by text are off \(start with --approvals/)
    expect(start.structured.approvals).toBe(false)
    const text = phone.nextText()
    const hook = permissionHook(dirs, 'Bash', { command: 'curl -H "Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0" https://api.example.com/deploy' })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
    const body = await text
    expect(body).toContain('⏳')
    expect(body).toContain('Wants to run: curl -H')
    expect(body).not.toContain('9f8e7d6c5b4a')
    const [details] = (await eventDetails(userId, 'waiting')).slice(-1)
    expect(details).toMatchObject({ permission_tool: 'Bash', permission_summary: expect.stringContaining('https://api.example.com/deploy') })
    expect(String(details!.permission_summary)).not.toContain('9f8e7d6c5b4a')
    expect(await requestsOf(userId)).toHaveLength(0)
    expect((await mcp.call('sms_status')).text).toMatch(/Approvals by text are off/)
  })

  it('CLAUDE_SMS_APPROVALS=1 turns them on for every session; the account switch on the dashboard wins', async () => {
    const always = await monitoredSession({ env: { CLAUDE_SMS_APPROVALS: '1' } })
    expect(always.start.text).toMatch(/Approvals by text are on/)
    expect((await always.mcp.call('sms_status')).structured.monitoring).toMatchObject({ approvals: true })

    const forbidden = await monitoredSession({ approvals: true, accountForbids: true })
    expect(forbidden.start.text).toMatch(/Approvals by text are off: your account does not accept approvals by text/)
    expect(forbidden.start.structured).toMatchObject({ approvals: false })
    expect((await forbidden.mcp.call('sms_status')).text).toMatch(/Approvals by text are off: your account does not accept/)
    // The dialog is not held: the hook answers at once, and the waiting text says what Claude wants.
    const text = forbidden.phone.nextText()
    expect(await permissionHook(forbidden.dirs, 'Bash', MIGRATE).exited).toEqual({ code: 0, stdout: '' })
    expect(await text).toContain('Wants to run: npm run migrate -- --env production')
    expect(await requestsOf(forbidden.userId)).toHaveLength(0)
  })
})

describe('approvals on: a request nobody answers at the terminal is texted, and the phone answers it', () => {
  it('Y <tag> allows: the request text says what Claude wants, and the hook prints the allow decision', async () => {
    const { phone, dirs, mcp, start } = await monitoredSession({ approvals: true })
    expect(start.text).toMatch(/Approvals by text are on/)
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const request = await phone.nextRequest()
    expect(request.row).toMatchObject({ kind: 'permission', tool_name: 'Bash', summary: 'npm run migrate -- --env production', cwd: '/work/billing-service', status: 'pending' })
    expect(request.row.request_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(request.text).toContain('Claude (billing-service): Wants to run: npm run migrate -- --env production')
    expect(request.text).toContain(`Reply Y ${request.tag} to allow, N ${request.tag} to deny`)
    expect((await mcp.call('sms_status')).text).toMatch(/1 permission request waiting for an answer/)
    expect(await phone.reply(`y ${request.tag.toLowerCase()}`)).toBe(`Allowed Bash (${request.tag}).`)
    const run = await hook.exited
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual(allow)
    // The tool now runs: its PostToolUse is the consequence of the phone's answer, not a terminal answer.
    expect((await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: MIGRATE, tool_response: {} })).status).toBe(204)
    expect(mcp.stderr.filter((l) => l.includes('settled without the phone'))).toEqual([])
    expect(await approvalRow(db.sql, request.row.id)).toMatchObject({ status: 'allowed', decided_by: 'phone' })
  })

  it('N <tag> denies: the hook prints a deny decision that tells Claude it was denied by text, with the reply\'s words', async () => {
    const { phone, dirs } = await monitoredSession({ approvals: true })
    const hook = permissionHook(dirs, 'Write', { file_path: '/work/billing-service/.env', content: 'X=1' })
    const request = await phone.nextRequest()
    expect(request.row).toMatchObject({ tool_name: 'Write', summary: '/work/billing-service/.env' })
    expect(request.text).toContain('Wants to use Write: /work/billing-service/.env')
    expect(await phone.reply(`N ${request.tag} keep the old env`)).toBe(`Denied Write (${request.tag}).`)
    const run = await hook.exited
    const masked = `+1***${phone.number.slice(-4)}`
    expect(JSON.parse(run.stdout)).toEqual({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'deny', message: `Denied by text from ${masked}: keep the old env` } } })
  })

  it("a question (AskUserQuestion): numbered options in the text, and '2 <tag>' reaches Claude as the person's answer", async () => {
    const { phone, dirs } = await monitoredSession({ approvals: true })
    const questions = [{ question: 'Which database should the service use?', header: 'Database', options: [{ label: 'PostgreSQL', description: 'what we run today' }, { label: 'MySQL' }], multiSelect: false }]
    const hook = permissionHook(dirs, 'AskUserQuestion', { questions })
    const request = await phone.nextRequest()
    expect(request.row).toMatchObject({ kind: 'question', tool_name: 'AskUserQuestion', questions, summary: 'Which database should the service use?' })
    expect(request.text).toContain(`Which database should the service use?\n1 PostgreSQL\n2 MySQL\nReply 2 ${request.tag} to pick 2`)
    await phone.reply(`2 ${request.tag}`)
    const run = await hook.exited
    expect(JSON.parse(run.stdout)).toEqual({
      hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow', updatedInput: { questions, answers: { 'Which database should the service use?': 'MySQL' } } } },
    })
  })

  it('several requests: the server texts one at a time, the next once the first is answered, and each hook gets its own answer', async () => {
    const { phone, dirs } = await monitoredSession({ approvals: true })
    const build = permissionHook(dirs, 'Bash', { command: 'make build' })
    const deploy = permissionHook(dirs, 'Bash', { command: 'make deploy' })
    const first = await phone.nextRequest()
    // The second is posted too, but queued: no second text while the first waits.
    const posted = await requestsPosted(db.sql, first.row.session_id, 2)
    expect(posted.map((r) => r.status).sort()).toEqual(['pending', 'queued'])
    expect(phone.texts()).toHaveLength(1)
    const second = phone.nextRequest(1)
    await phone.reply(`Y ${first.tag}`)
    const next = await second
    expect(next.row.summary).not.toBe(first.row.summary)
    await phone.reply(`N ${next.tag}`)
    const outcomes: Record<string, string> = { 'make build': (await build.exited).stdout, 'make deploy': (await deploy.exited).stdout }
    expect(JSON.parse(outcomes[first.row.summary]!).hookSpecificOutput.decision.behavior).toBe('allow')
    expect(JSON.parse(outcomes[next.row.summary]!).hookSpecificOutput.decision.behavior).toBe('deny')
  })
})

describe('settled at the terminal, by the end of the session, or never', () => {
  it('answered at the terminal before the threshold: the hook exits silently and nothing is asked or texted', async () => {
    const { phone, userId, dirs, mcp } = await monitoredSession({ approvals: true, threshold: NEVER })
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    await mcp.waitForLog(/permission request open/)
    // Another call of the same tool does not end it; this call's PostToolUse does.
    await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: 'ls' }, tool_response: {} })
    await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: MIGRATE, tool_response: {} })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
    expect(await requestsOf(userId)).toHaveLength(0)
    expect(phone.texts()).toEqual([])
  })

  it('answered at the terminal after it was texted: the server is told, and a later reply is told it was already allowed', async () => {
    const { phone, dirs, mcp } = await monitoredSession({ approvals: true })
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const request = await phone.nextRequest()
    await mcp.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'ls /nowhere' }, error: 'No such file', is_interrupt: false })
    await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: MIGRATE, tool_response: {} })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
    expect(await settledRow(db.sql, request.row.id)).toMatchObject({ status: 'settled_elsewhere', decided_by: 'terminal', evidence: 'PostToolUse', terminal_decision: 'allowed' })
    expect(await phone.reply(`Y ${request.tag}`)).toMatch(new RegExp(`^${request.tag} was already allowed at the terminal at \\d\\d:\\d\\d\\.$`))
  })

  it('a request still queued behind another, answered at the terminal, is settled and never texted', async () => {
    const { phone, dirs, mcp } = await monitoredSession({ approvals: true })
    const build = permissionHook(dirs, 'Bash', { command: 'make build' })
    const deploy = permissionHook(dirs, 'Bash', { command: 'make deploy' })
    const texted = await phone.nextRequest()
    const other = texted.row.summary === 'make build' ? 'make deploy' : 'make build'
    const queued = (await requestsPosted(db.sql, texted.row.session_id, 2)).find((r) => r.summary === other)!
    expect(queued.status).toBe('queued')
    await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: { command: other }, tool_response: {} })
    expect(await settledRow(db.sql, queued.id)).toMatchObject({ status: 'settled_elsewhere', decided_by: 'terminal', sms_sent: false })
    await phone.reply(`Y ${texted.tag}`)
    const runs = { 'make build': (await build.exited).stdout, 'make deploy': (await deploy.exited).stdout }
    expect(runs[texted.row.summary as keyof typeof runs]).toBe(JSON.stringify(allow))
    expect(runs[other as keyof typeof runs]).toBe('')
    expect(phone.texts().filter((t) => t.includes(other))).toEqual([])
  })

  it('a new prompt ends the request too (the dialog is gone)', async () => {
    const { phone, dirs, mcp } = await monitoredSession({ approvals: true })
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const request = await phone.nextRequest()
    await mcp.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'no, run the tests first' })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
    expect(await settledRow(db.sql, request.row.id)).toMatchObject({ decided_by: 'terminal', evidence: 'UserPromptSubmit', terminal_decision: 'unknown' })
  })

  it('no reply ever: when Claude Code ends the hook at its timeout, the server hears "timeout" and a late reply is told', async () => {
    const { phone, dirs } = await monitoredSession({ approvals: true })
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const request = await phone.nextRequest()
    hook.kill()
    expect((await hook.exited).stdout).toBe('')
    expect(await settledRow(db.sql, request.row.id)).toMatchObject({ status: 'settled_elsewhere', decided_by: 'timeout' })
    expect(await phone.reply(`Y ${request.tag}`)).toMatch(new RegExp(`^${request.tag} timed out at \\d\\d:\\d\\d; answer at the terminal\\.$`))
  })

  it('sms_stop settles the open requests (session_end) before the session token dies', async () => {
    const { phone, dirs, mcp } = await monitoredSession({ approvals: true })
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const request = await phone.nextRequest()
    const stop = await mcp.call('sms_stop')
    expect(stop.text).toMatch(/^Stopped monitoring "migrate billing"/)
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
    expect(await settledRow(db.sql, request.row.id)).toMatchObject({ status: 'settled_elsewhere', decided_by: 'session_end' })
  })

  it('a request too large to show (its hook JSON was trimmed) is never texted for approval: the waiting text goes out instead', async () => {
    const { phone, userId, dirs, mcp } = await monitoredSession({ approvals: true })
    const text = phone.nextText()
    const huge = { file_path: '/work/billing-service/dump.sql', content: 'x'.repeat(1_200_000) }
    const hook = permissionHook(dirs, 'Write', huge)
    expect(await text).toContain('⏳')
    expect(await db.sql`select id from approval_requests where user_id = ${userId}`).toEqual([])
    await mcp.hook({ hook_event_name: 'UserPromptSubmit', prompt: 'go on' })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
  })

  it('refused by the server (daily cap reached): the ordinary waiting text, naming the command, goes out instead', async () => {
    const capped = await startTestServer({ sql: db.sql, twilio, name: 'approvals-capped', env: { APPROVAL_DAILY_CAP: '0' } })
    servers.push(capped)
    const { phone, userId, dirs, mcp } = await monitoredSession({ approvals: true, on: capped })
    const text = phone.nextText()
    const hook = permissionHook(dirs, 'Bash', MIGRATE)
    const body = await text
    expect(body).toContain('⏳')
    expect(body).toContain('Wants to run: npm run migrate -- --env production')
    expect(await db.sql`select status, refused_reason from approval_requests where user_id = ${userId}`).toEqual([{ status: 'refused', refused_reason: 'daily_cap' }])
    const [details] = (await eventDetails(userId, 'waiting')).slice(-1)
    expect(details).toMatchObject({ permission_tool: 'Bash', permission_summary: 'npm run migrate -- --env production' })
    // The person answers at the terminal; the hook goes quiet.
    await mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: MIGRATE, tool_response: {} })
    expect(await hook.exited).toEqual({ code: 0, stdout: '' })
  })
})

describe('the phone and the plugin across races and restarts', () => {
  it('phone and terminal answering at the same moment: exactly one decision; when the terminal won, the hook prints nothing and the phone is told', async () => {
    const { phone, dirs, mcp } = await monitoredSession({ approvals: true })
    for (let round = 0; round < 6; round++) {
      const call = { command: `npm run migrate -- --step ${round}` }
      const hook = permissionHook(dirs, 'Bash', call)
      const request = await phone.nextRequest()
      expect(request.row.summary).toBe(call.command)
      const [answer] = await Promise.all([phone.reply(`Y ${request.tag}`), mcp.hook({ hook_event_name: 'PostToolUse', tool_name: 'Bash', tool_input: call, tool_response: {} })])
      const run = await hook.exited
      const row = await approvalRow(db.sql, request.row.id)
      if (row.decided_by === 'terminal') {
        expect(row.status).toBe('settled_elsewhere')
        expect(run).toEqual({ code: 0, stdout: '' })
        expect(answer).toMatch(new RegExp(`^${request.tag} was already allowed at the terminal at \\d\\d:\\d\\d\\.$`))
      } else {
        // The phone's answer reached the server first: that is the decision, and the plugin's late
        // "terminal" is answered with it. The hook printed it, or nothing when the terminal's PostToolUse
        // reached the plugin first (Claude Code ignores a hook answer after the dialog closed anyway).
        expect(row).toMatchObject({ status: 'allowed', decided_by: 'phone' })
        expect(answer).toBe(`Allowed Bash (${request.tag}).`)
        expect(['', JSON.stringify(allow)]).toContain(run.stdout)
        if (run.stdout === '') await mcp.waitForLog(new RegExp(`"request_id":"${request.row.request_id}".*the phone had settled the request first`))
      }
      // Settled once: the next request of the session is texted only after this one is over.
      await settledRow(db.sql, request.row.id)
    }
  })

  it('the server restarts while the hook waits: the long poll resumes and the hook still gets the phone\'s answer', async () => {
    const first = await startTestServer({ sql: db.sql, twilio, name: 'approvals-restart' })
    const other = await startTestServer({ sql: db.sql, twilio, name: 'approvals-other-process' })
    servers.push(other)
    let current = first
    try {
      const { phone, dirs, mcp } = await monitoredSession({ approvals: true, on: first })
      const hook = permissionHook(dirs, 'Bash', MIGRATE)
      const request = await phone.nextRequest()
      await pollIsWaiting(first.logs.lines, request.row.id)
      // Down for a deploy: the waiting long poll is cut, and the plugin keeps trying.
      await first.close()
      await mcp.waitForLog(/long poll for the phone's answer failed/)
      // Meanwhile the person answers; another server process on the same database takes the webhook.
      expect(await phone.reply(`Y ${request.tag}`, other.url)).toBe(`Allowed Bash (${request.tag}).`)
      // A new server process where the plugin knows it: the next poll finds the decision.
      current = await startTestServer({ sql: db.sql, twilio, name: 'approvals-restarted', port: Number(new URL(first.url).port) })
      const run = await hook.exited
      expect(JSON.parse(run.stdout)).toEqual(allow)
    } finally {
      await current.close()
    }
  })

  it('the server restarts while the hook waits, and the reply reaches the new process: its long poll hears it', async () => {
    const first = await startTestServer({ sql: db.sql, twilio, name: 'approvals-restart-2' })
    let current = first
    try {
      const { phone, dirs, mcp } = await monitoredSession({ approvals: true, on: first })
      const hook = permissionHook(dirs, 'Bash', MIGRATE)
      const request = await phone.nextRequest()
      await pollIsWaiting(first.logs.lines, request.row.id)
      await first.close()
      await mcp.waitForLog(/long poll for the phone's answer failed/)
      current = await startTestServer({ sql: db.sql, twilio, name: 'approvals-restarted-2', port: Number(new URL(first.url).port) })
      await pollIsWaiting(current.logs.lines, request.row.id)
      expect(await phone.reply(`N ${request.tag}`, current.url)).toBe(`Denied Bash (${request.tag}).`)
      const run = await hook.exited
      expect(JSON.parse(run.stdout).hookSpecificOutput.decision).toMatchObject({ behavior: 'deny', message: expect.stringMatching(/^Denied by text from \+1\*\*\*\d{4}$/) })
    } finally {
      await current.close()
    }
  })
})
