import { randomUUID } from 'node:crypto'
import type { Sql } from 'postgres'
import { recordSecret } from './secrets.js'
import type { TestServer } from './server.js'
import type { TwilioEndpoint } from './twilio-endpoint.js'
import { pairedUser } from './users.js'

/** A JSON request to the server; returns status, parsed body and headers. */
export async function api(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(15_000),
  })
  const text = await res.text()
  let body: Record<string, unknown>
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {}
  } catch {
    body = { raw: text }
  }
  return { status: res.status, body, headers: res.headers }
}

export interface MonitoredSession {
  userId: string
  phone: string
  accessToken: string
  token: string
  id: string
}

/** A paired user with one monitored session, started through the API. */
export async function monitoredSession(server: TestServer, sql: Sql, opts: { phone?: string; description?: string; project?: string; heartbeat_interval_ms?: number; user?: { userId: string; phone: string; accessToken: string } } = {}): Promise<MonitoredSession> {
  let paired: { userId: string; phone: string; accessToken: string }
  if (opts.user) paired = opts.user
  else {
    const p = await pairedUser(sql, server.config, { phone: opts.phone })
    paired = { userId: p.user.id, phone: p.user.phoneE164, accessToken: p.accessToken }
  }
  const res = await api(server.url, 'POST', '/sessions/start', {
    token: paired.accessToken,
    body: {
      claude_session_id: randomUUID(),
      description: opts.description ?? 'Refactor auth',
      project: opts.project ?? 'api-server',
      hostname: 'laptop',
      ...(opts.heartbeat_interval_ms ? { heartbeat_interval_ms: opts.heartbeat_interval_ms } : {}),
    },
  })
  if (res.status !== 200) throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`)
  recordSecret('token', res.body.session_token as string)
  return { ...paired, token: res.body.session_token as string, id: res.body.monitoring_id as string }
}

export function sendEvent(server: { url: string }, s: { token: string; id: string }, event: { event_type: string; details?: Record<string, unknown>; event_id?: string; timestamp?: string }) {
  return api(server.url, 'POST', `/sessions/${s.id}/events`, { token: s.token, body: { timestamp: new Date().toISOString(), details: {}, ...event } })
}

/**
 * A form POST signed the way Twilio signs its webhooks (or unsigned / wrongly signed). `signedFor` is the
 * URL Twilio signs when it differs from the one posted to (a server process behind its PUBLIC_URL).
 */
export async function twilioPost(twilio: TwilioEndpoint, url: string, params: Record<string, string>, opts: { signature?: 'valid' | 'none' | 'wrong'; signedFor?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  const mode = opts.signature ?? 'valid'
  const signedUrl = opts.signedFor ?? url
  if (mode === 'valid') headers['x-twilio-signature'] = twilio.sign(signedUrl, params)
  if (mode === 'wrong') headers['x-twilio-signature'] = twilio.sign(signedUrl, { ...params, Body: 'something else' })
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString(), signal: AbortSignal.timeout(10_000) })
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' }
}
