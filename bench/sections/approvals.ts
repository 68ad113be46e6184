import { spawn } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import type { TwilioEndpoint } from '../../test/support/twilio-endpoint.js'
import { runHook, type HookCommand } from './hooks.js'
import { ratioRow, type Row } from '../report.js'
import { percentile, round, summarize } from '../stats.js'

/** The form Twilio posts for a text from `phone`. */
function phoneReply(twilio: TwilioEndpoint, phone: string, body: string): Record<string, string> {
  return { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: twilio.accountSid, From: phone, To: '+15005550006', Body: body }
}

/** POSTs the form to the server's inbound webhook, signed for its PUBLIC_URL as Twilio signs it. */
function postPhoneReply(opts: { serverUrl: string; publicUrl: string; twilio: TwilioEndpoint }, params: Record<string, string>): Promise<Response> {
  return fetch(`${opts.serverUrl}/twilio/inbound`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': opts.twilio.sign(`${opts.publicUrl}/twilio/inbound`, params) },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(10_000),
  })
}

/**
 * Answering from the phone: from the phone's reply reaching the server (a signed Twilio webhook POST)
 * to the plugin's long poll answering with the decision, for a bounded number of requests. Baseline:
 * the same long-poll URL answering at once (wait=0) for a request already settled, in the same run.
 */
export async function benchApprovalReply(opts: {
  serverUrl: string
  /** The server's PUBLIC_URL: what Twilio signs. */
  publicUrl: string
  twilio: TwilioEndpoint
  accessToken: string
  phone: string
  requests: number
  log: (m: string) => void
}): Promise<Row[]> {
  const { serverUrl, twilio } = opts
  const json = async (method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(serverUrl + path, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(40_000),
    })
    return (await res.json()) as Record<string, unknown>
  }
  const started = await json('POST', '/sessions/start', opts.accessToken, { claude_session_id: randomUUID(), description: 'Benchmark approvals', project: 'bench', approvals: true })
  const session = { id: started.monitoring_id as string, token: started.session_token as string }
  if (!started.approvals_enabled) throw new Error(`approvals not enabled: ${JSON.stringify(started)}`)

  const latencies: number[] = []
  const baseline: number[] = []
  for (let i = 0; i < opts.requests; i++) {
    const asked = await json('POST', `/sessions/${session.id}/approvals`, session.token, { request_id: randomUUID(), kind: 'permission', tool_name: 'Bash', summary: `npm test -- shard ${i}`, asked_at: new Date().toISOString() })
    if (asked.status !== 'pending') throw new Error(`request not texted: ${JSON.stringify(asked)}`)
    const path = `/sessions/${session.id}/approvals/${asked.approval_id as string}`
    const poll = json('GET', `${path}?wait=25`, session.token).then((state) => ({ state, at: performance.now() }))
    // Let the poll reach its LISTEN wait, so that what is measured is the wake-up path, not the first read.
    await delay(100)
    const params = phoneReply(twilio, opts.phone, `Y ${asked.tag as string}`)
    const sentAt = performance.now()
    const webhook = await postPhoneReply(opts, params)
    await webhook.text()
    const { state, at } = await poll
    if (state.status !== 'allowed') throw new Error(`the long poll answered ${JSON.stringify(state)}`)
    latencies.push(at - sentAt)
    const t0 = performance.now()
    await json('GET', `${path}?wait=0`, session.token)
    baseline.push(performance.now() - t0)
  }
  const sorted = [...latencies].sort((a, b) => a - b)
  const p50 = round(percentile(sorted, 50))
  const p95 = percentile(sorted, 95)
  const p99 = round(percentile(sorted, 99))
  opts.log(`   reply -> long-poll answer: p50 ${p50} ms, p95 ${round(p95)} ms, p99 ${p99} ms over ${latencies.length} requests`)
  return [
    ratioRow({
      section: 'approvals',
      metric: 'inbound reply (signed webhook POST) to long-poll answer',
      unit: 'ms',
      value: summarize(latencies),
      baseline: { name: 'GET of a settled request (wait=0)', value: summarize(baseline) },
      target: 'p95 < 2000 ms',
      met: p95 < 2_000,
      note: `p50 ${p50} ms, p99 ${p99} ms, n=${latencies.length}`,
    }),
  ]
}

/**
 * Answering from the phone, the whole way: from the phone's reply reaching the server (a signed Twilio
 * webhook POST) to the PermissionRequest hook command (as hooks/hooks.json registers it, run as Claude
 * Code runs it) printing the decision on stdout, through the plugin's real MCP server and its long
 * poll. Baseline, interleaved in the same run: a plain event round trip through the same hook command
 * and MCP server (a PostToolUse hook, spawn to exit).
 */
export async function benchApprovalToHook(opts: {
  serverUrl: string
  publicUrl: string
  twilio: TwilioEndpoint
  /** Who the MCP server's session texts: the phone that replies. */
  phone: string
  hook: HookCommand
  plainHook: HookCommand
  env: NodeJS.ProcessEnv
  sessionId: string
  requests: number
  log: (m: string) => void
}): Promise<Row[]> {
  const { twilio } = opts
  const latencies: number[] = []
  const webhookOnly: number[] = []
  const baseline: number[] = []
  const event = (name: string, extra: Record<string, unknown>) => JSON.stringify({ session_id: opts.sessionId, transcript_path: '/tmp/t.jsonl', cwd: '/work/billing-service', hook_event_name: name, ...extra })
  for (let i = 0; i < opts.requests; i++) {
    const seen = twilio.messages.filter((m) => m.to === opts.phone).length
    const command = { command: `npm run migrate -- --step ${i}` }
    const child = opts.hook.args ? spawn(opts.hook.command, opts.hook.args, { env: opts.env, stdio: ['pipe', 'pipe', 'ignore'] }) : spawn('/bin/sh', ['-c', opts.hook.command], { env: opts.env, stdio: ['pipe', 'pipe', 'ignore'] })
    const closed = once(child, 'close')
    let stdout = ''
    const printed = new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d
        if (stdout.includes('"behavior":"allow"')) resolve(performance.now())
      })
      child.on('exit', (code) => reject(new Error(`the PermissionRequest hook exited (${code}) without a decision: ${JSON.stringify(stdout)}`)))
      setTimeout(() => reject(new Error(`the PermissionRequest hook printed no decision within 30 s: ${JSON.stringify(stdout)}`)), 30_000).unref()
    })
    child.stdin.end(event('PermissionRequest', { permission_mode: 'default', tool_name: 'Bash', tool_input: command, permission_suggestions: [] }))
    // The request text (after the waiting threshold), and its tag.
    const deadline = Date.now() + 15_000
    let text: string | undefined
    while (!(text = twilio.messages.filter((m) => m.to === opts.phone)[seen]?.body)) {
      if (Date.now() > deadline) throw new Error('no request text within 15 s')
      await twilio.waitForMessages(twilio.messages.length + 1, Math.max(1, deadline - Date.now())).catch(() => undefined)
    }
    const tag = /Reply Y ([0-9A-Z]{4}) to allow/.exec(text)?.[1]
    if (!tag) throw new Error(`not a request text: ${text}`)
    // Let the plugin's long poll reach its wait, so that what is measured is the wake-up path.
    await delay(100)
    const params = phoneReply(twilio, opts.phone, `Y ${tag}`)
    const sentAt = performance.now()
    const webhook = await postPhoneReply(opts, params)
    const reply = await webhook.text()
    webhookOnly.push(performance.now() - sentAt)
    if (!reply.includes(`Allowed Bash (${tag})`)) throw new Error(`the reply was not taken: ${reply}`)
    latencies.push((await printed) - sentAt)
    await closed
    // The tool ran: its PostToolUse is the plain event round trip of the baseline.
    baseline.push(await runHook(opts.plainHook, opts.env, event('PostToolUse', { tool_name: 'Bash', tool_input: command, tool_response: {} })))
  }
  const s = summarize(latencies)
  const p95 = percentile([...latencies].sort((a, b) => a - b), 95)
  opts.log(`   reply -> hook prints the decision: p50 ${round(s.p50)} ms, p95 ${round(p95)} ms, p99 ${round(s.p99)} ms over ${latencies.length} requests (webhook answered in ${round(summarize(webhookOnly).p50)} ms p50)`)
  return [
    ratioRow({
      section: 'approvals',
      metric: 'inbound reply (signed webhook POST) to the hook printing the decision',
      unit: 'ms',
      value: { ...s, median: s.p50 },
      baseline: { name: 'PostToolUse hook round trip', value: summarize(baseline) },
      target: 'p95 < 2000 ms',
      met: p95 < 2_000,
      note: `p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms, n=${latencies.length}; webhook answer p50 ${round(summarize(webhookOnly).p50)} ms`,
    }),
  ]
}
