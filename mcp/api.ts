import type { KyInstance } from 'ky'
import { nodeHttpFetch } from './http-fetch.js'
import type { z } from 'zod'
import {
  ErrorBody,
  EventResponse,
  ExchangeResponse,
  HeartbeatResponse,
  LogoutResponse,
  RefreshResponse,
  RemoteLoginResponse,
  StartSessionResponse,
  StopResponse,
  type EventRequest,
} from '../contract/api.js'
import { ApprovalState, StartApprovalsAnswer, type ApprovalRequest, type SettleRequest } from '../contract/approvals.js'

/** The server could not be reached (refused, DNS, timeout). Always safe to retry later. */
export class ServerUnreachable extends Error {
  override name = 'ServerUnreachable'
}

/** The server answered with an error (DESIGN §5 error body) or an answer that breaks the contract. */
export class ServerRejected extends Error {
  override name = 'ServerRejected'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | undefined = undefined,
  ) {
    super(message)
  }
}

export interface ApiOptions {
  timeoutMs?: number
  /** The transport under ky; node:http by default (mcp/http-fetch.ts). */
  fetch?: typeof fetch
}

/**
 * The server's HTTP API (DESIGN §5), every answer validated with contract/api.ts. No retries here:
 * tools answer at once, and the outbox owns retrying events with backoff.
 */
export function createApi(opts: ApiOptions = {}) {
  // ky is loaded on the first call: at import it probes Node's fetch classes, which loads undici's
  // JavaScript (about 6 MB resident), and a session that is not monitored never calls the server.
  let client: Promise<KyInstance> | undefined
  const http = () =>
    (client ??= import('ky').then(({ default: ky }) => ky.create({ timeout: opts.timeoutMs ?? 10_000, retry: 0, throwHttpErrors: false, fetch: opts.fetch ?? nodeHttpFetch })))

  async function call<S extends z.ZodType>(
    url: string,
    init: { json?: unknown; bearer?: string; timeoutMs?: number; method?: 'get' | 'post'; signal?: AbortSignal },
    schema: S,
    okStatuses: number[] = [200],
  ): Promise<z.infer<S>> {
    const ky = await http()
    let res: Response
    try {
      res = await ky(url, {
        method: init.method ?? 'post',
        ...(init.method === 'get' ? {} : { json: init.json ?? {} }),
        headers: init.bearer ? { authorization: `Bearer ${init.bearer}` } : undefined,
        timeout: init.timeoutMs ?? opts.timeoutMs ?? 10_000,
        signal: init.signal,
      })
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason ?? error
      throw new ServerUnreachable(`${new URL(url).origin} is unreachable (${(error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message})`)
    }
    const body = parseJson(await res.text().catch(() => ''))
    if (okStatuses.includes(res.status)) {
      const parsed = schema.safeParse(body)
      if (parsed.success) return parsed.data
      if (res.status < 400) throw new ServerRejected(res.status, 'bad_response', `the server's answer to ${new URL(url).pathname} does not match the API`)
    }
    const error = ErrorBody.safeParse(body)
    const retryAfter = Number(res.headers.get('retry-after'))
    throw new ServerRejected(
      res.status,
      error.success ? error.data.error : res.status >= 500 ? 'server_error' : 'unexpected_status',
      error.success ? error.data.message : `HTTP ${res.status} from ${new URL(url).pathname}`,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    )
  }

  return {
    remoteLogin: (server: string, body: { phone: string; state: string }) => call(`${server}/login`, { json: { ...body, mode: 'remote' } }, RemoteLoginResponse),
    exchange: (server: string, body: { temp_token: string; pairing_code: string; device_fingerprint?: string }) => call(`${server}/auth/exchange`, { json: body }, ExchangeResponse),
    refresh: (server: string, jwt: string) => call(`${server}/auth/refresh`, { bearer: jwt }, RefreshResponse),
    logout: (server: string, jwt: string, timeoutMs?: number) => call(`${server}/auth/logout`, { bearer: jwt, timeoutMs }, LogoutResponse),
    startSession: (
      server: string,
      jwt: string,
      body: { claude_session_id: string; description: string; hostname?: string; project?: string; started_at?: string; heartbeat_interval_ms?: number; approvals?: boolean },
    ) => call(`${server}/sessions/start`, { bearer: jwt, json: body }, StartSessionResponse.extend(StartApprovalsAnswer.shape)),
    /** 200 (texted or not) and 429 (rate limited, event kept by the server) both mean: delivered. */
    sendEvent: (server: string, monitoringId: string, sessionToken: string, body: EventRequest, timeoutMs?: number) =>
      call(`${server}/sessions/${encodeURIComponent(monitoringId)}/events`, { bearer: sessionToken, json: body, timeoutMs }, EventResponse, [200, 202, 429]),
    heartbeat: (server: string, monitoringId: string, sessionToken: string, body: { timestamp: string; last_activity: string | null }) =>
      call(`${server}/sessions/${encodeURIComponent(monitoringId)}/heartbeat`, { bearer: sessionToken, json: body }, HeartbeatResponse),
    stopSession: (server: string, monitoringId: string, sessionToken: string, body: { reason: string; final_state?: string; ended_at: string }, timeoutMs?: number) =>
      call(`${server}/sessions/${encodeURIComponent(monitoringId)}/stop`, { bearer: sessionToken, json: body, timeoutMs }, StopResponse),
    /** contract/approvals.ts: text a permission request nobody answered at the terminal. */
    requestApproval: (server: string, monitoringId: string, sessionToken: string, body: ApprovalRequest, signal?: AbortSignal) =>
      call(`${server}/sessions/${encodeURIComponent(monitoringId)}/approvals`, { bearer: sessionToken, json: body, signal }, ApprovalState),
    /** Long poll: answers when the request is settled, or after `waitS` seconds with its current state. */
    approvalState: (server: string, monitoringId: string, sessionToken: string, approvalId: string, waitS: number, signal?: AbortSignal) =>
      call(
        `${server}/sessions/${encodeURIComponent(monitoringId)}/approvals/${encodeURIComponent(approvalId)}?wait=${waitS}`,
        { method: 'get', bearer: sessionToken, timeoutMs: (waitS + 10) * 1000, signal },
        ApprovalState,
      ),
    settleApproval: (server: string, monitoringId: string, sessionToken: string, approvalId: string, body: SettleRequest, timeoutMs?: number) =>
      call(`${server}/sessions/${encodeURIComponent(monitoringId)}/approvals/${encodeURIComponent(approvalId)}/settle`, { bearer: sessionToken, json: body, timeoutMs }, ApprovalState),
  }
}

export type Api = ReturnType<typeof createApi>

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined // not JSON (a proxy's HTML error page): judged by its status below
  }
}
