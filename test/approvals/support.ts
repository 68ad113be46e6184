import { randomUUID } from 'node:crypto'
import type { Sql } from 'postgres'
import { api } from '../support/monitoring.js'
import { recordSecret } from '../support/secrets.js'
import type { TestServer } from '../support/server.js'
import { until } from '../support/until.js'
import { pairedUser } from '../support/users.js'

export interface ApprovalSession {
  userId: string
  phone: string
  accessToken: string
  token: string
  id: string
  approvalsEnabled: boolean
}

type Base = { url: string; config: TestServer['config'] }

/** A paired user (or the given one) with a monitored session started with `approvals: true`. */
export async function approvalSession(server: Base, sql: Sql, opts: { approvals?: boolean; user?: { userId: string; phone: string; accessToken: string }; project?: string } = {}): Promise<ApprovalSession> {
  let user = opts.user
  if (!user) {
    const p = await pairedUser(sql, server.config)
    user = { userId: p.user.id, phone: p.user.phoneE164, accessToken: p.accessToken }
  }
  const res = await api(server.url, 'POST', '/sessions/start', {
    token: user.accessToken,
    body: { claude_session_id: randomUUID(), description: 'Refactor auth', project: opts.project ?? 'api-server', approvals: opts.approvals ?? true },
  })
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`)
  recordSecret('token', res.body.session_token as string)
  return { ...user, token: res.body.session_token as string, id: res.body.monitoring_id as string, approvalsEnabled: res.body.approvals_enabled as boolean }
}

export function askApproval(server: { url: string }, s: { id: string; token: string }, over: Record<string, unknown> = {}) {
  return api(server.url, 'POST', `/sessions/${s.id}/approvals`, {
    token: s.token,
    body: { request_id: randomUUID(), kind: 'permission', tool_name: 'Bash', summary: 'npm test', asked_at: new Date().toISOString(), ...over },
  })
}

export function pollApproval(server: { url: string }, s: { id: string; token: string }, approvalId: string, wait = 0) {
  return api(server.url, 'GET', `/sessions/${s.id}/approvals/${approvalId}?wait=${wait}`, { token: s.token })
}

export function settleApproval(server: { url: string }, s: { id: string; token: string }, approvalId: string, over: Record<string, unknown> = {}) {
  return api(server.url, 'POST', `/sessions/${s.id}/approvals/${approvalId}/settle`, {
    token: s.token,
    body: { decided_by: 'terminal', decision: 'allowed', evidence: 'PostToolUse', settled_at: new Date().toISOString(), ...over },
  })
}

/** Resolves once the server's log says the long poll for this request is waiting (subscribed) for a decision. */
export function pollIsWaiting(lines: string[], approvalId: string): Promise<void> {
  return until(`the long poll for ${approvalId} waits`, () => lines.some((l) => l.includes(approvalId) && l.includes('long poll waiting')), 10_000)
}
