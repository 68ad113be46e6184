import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import type { TwilioEndpoint } from '../../test/support/twilio-endpoint.js'
import { ratioRow, type Row } from '../report.js'
import { percentile, round, summarize } from '../stats.js'

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
    const params = { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: twilio.accountSid, From: opts.phone, To: '+15005550006', Body: `Y ${asked.tag as string}` }
    const sentAt = performance.now()
    const webhook = await fetch(`${serverUrl}/twilio/inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.sign(`${opts.publicUrl}/twilio/inbound`, params) },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(10_000),
    })
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
