import { randomBytes, randomUUID } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { request, type IncomingMessage, type ServerResponse } from 'node:http'
import { z } from 'zod'
import { ApprovalPollQuery, ApprovalRequest, SettleRequest, type ApprovalState } from '../../contract/approvals.js'
import { listenOnLoopback } from './listen.js'

/**
 * A STAND-IN for the server's approval endpoints (contract/approvals.ts), for the plugin's tests until
 * the server implements them: a real HTTP server on 127.0.0.1 in front of the real test server. It
 * answers POST /sessions/:id/approvals, GET /sessions/:id/approvals/:approval_id?wait= and
 * POST .../settle itself, faithfully to the contract (zod-validated bodies, the session token, request_id
 * idempotency, one pending request per session with later ones queued, long poll of at most 30 s, first
 * answer wins), adds `approvals_enabled` to the start answer, and passes every other request through to
 * the real server (pairing, events and their texts, heartbeats, stop). It sends no texts of its own: the
 * test plays the phone with decide().
 */

export interface StubApproval {
  body: ApprovalRequest
  monitoringId: string
  state: ApprovalState
}

export type PhoneDecision = { status: 'allowed' } | { status: 'denied'; message?: string } | { status: 'answered'; answers: Record<string, string> }

export interface ApprovalsStub {
  /** Give this to the plugin as CLAUDE_SMS_AUTH_URL. */
  url: string
  /** Approval requests as they arrived (a repeated request_id is not added again). */
  requests: StubApproval[]
  settlements: { approvalId: string; body: SettleRequest; answered: ApprovalState }[]
  /** Resolves with the n-th (1-based) approval request once it arrived. */
  request(n: number): Promise<StubApproval>
  /** Resolves with the n-th (1-based) settlement once it arrived. */
  settlement(n: number): Promise<ApprovalsStub['settlements'][number]>
  /** The phone's reply: settles the request (first answer wins) and wakes its long polls. */
  decide(approvalId: string, decision: PhoneDecision): ApprovalState
  /** The dashboard's account switch "never accept approvals by text". */
  accountForbids: boolean
  /** Refuse every approval request with this reason (e.g. the daily cap), or accept them (null). */
  refuseWith: ApprovalState['refused_reason'] | null
  close(): Promise<void>
}

interface StubSession {
  token: string
  approvals: boolean
  stopped: boolean
}

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const newTag = () => Array.from(randomBytes(4), (b) => ALPHABET[b % 32]).join('')
const FINAL = new Set(['allowed', 'denied', 'answered', 'settled_elsewhere', 'refused'])

export async function startApprovalsStub(target: string): Promise<ApprovalsStub> {
  const sessions = new Map<string, StubSession>()
  const byId = new Map<string, StubApproval>()
  const changes = new EventEmitter()
  changes.setMaxListeners(0)
  const stub = { accountForbids: false, refuseWith: null as ApprovalState['refused_reason'] | null }
  const requests: StubApproval[] = []
  const settlements: ApprovalsStub['settlements'] = []

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const error = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: code, message, details: {}, request_id: `req_${randomUUID()}` })
  const changed = () => changes.emit('change')

  /** The session's next queued request is texted once nothing of it is pending (one at a time). */
  function promote(monitoringId: string) {
    const mine = requests.filter((r) => r.monitoringId === monitoringId)
    if (mine.some((r) => r.state.status === 'pending')) return
    const next = mine.find((r) => r.state.status === 'queued')
    if (next) next.state = { ...next.state, status: 'pending', sms_sent: true }
  }

  function settle(approval: StubApproval, patch: Partial<ApprovalState>) {
    approval.state = { ...approval.state, ...patch, decided_at: new Date().toISOString() }
    promote(approval.monitoringId)
    changed()
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  }

  function parseJson(raw: Buffer): unknown {
    try {
      return JSON.parse(raw.toString('utf8'))
    } catch {
      return undefined
    }
  }

  /** Everything else goes to the real server; the start answer learns the session and gains approvals_enabled. */
  async function passThrough(req: IncomingMessage, res: ServerResponse, raw: Buffer) {
    const url = new URL(req.url ?? '/', target)
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host, 'content-length': String(raw.length) } })
    upstream.end(raw)
    const [answer] = (await once(upstream, 'response')) as [IncomingMessage]
    const body = await readBody(answer)
    const started = req.method === 'POST' && url.pathname === '/sessions/start' && answer.statusCode === 200
    if (started) {
      const asked = (parseJson(raw) as { approvals?: unknown } | undefined)?.approvals === true
      const answered = parseJson(body) as { session_token: string; monitoring_id: string }
      const approvals = asked && !stub.accountForbids
      sessions.set(answered.monitoring_id, { token: answered.session_token, approvals, stopped: false })
      return json(res, 200, { ...answered, approvals_enabled: approvals })
    }
    const stopped = /^\/sessions\/([^/]+)\/stop$/.exec(url.pathname)
    if (stopped && req.method === 'POST' && answer.statusCode === 200) {
      const session = sessions.get(decodeURIComponent(stopped[1]!))
      if (session) session.stopped = true
    }
    const headers = { ...answer.headers }
    delete headers['transfer-encoding']
    res.writeHead(answer.statusCode ?? 502, { ...headers, 'content-length': String(body.length) })
    res.end(body)
  }

  const route = /^\/sessions\/([^/]+)\/approvals(?:\/([^/]+)(\/settle)?)?$/

  const listening = await listenOnLoopback(async (req, res) => {
    try {
      const raw = await readBody(req)
      const url = new URL(req.url ?? '/', 'http://stub')
      const match = route.exec(url.pathname)
      if (!match) return await passThrough(req, res, raw)
      const [, monitoringId, approvalId, settlePath] = match.map((m) => (m === undefined ? undefined : decodeURIComponent(m)))
      const session = sessions.get(monitoringId!)
      if (!session) return error(res, 404, 'session_not_found', 'no such monitoring session')
      if (req.headers.authorization !== `Bearer ${session.token}` || session.stopped) return error(res, 401, 'unauthorized', 'session token required')

      if (!approvalId && req.method === 'POST') {
        const body = ApprovalRequest.safeParse(parseJson(raw))
        if (!body.success) return error(res, 400, 'invalid_request', z.prettifyError(body.error))
        const repeat = requests.find((r) => r.monitoringId === monitoringId && r.body.request_id === body.data.request_id)
        if (repeat) return json(res, 200, repeat.state)
        const refused = !session.approvals ? 'session_disabled' : stub.refuseWith
        const approval: StubApproval = {
          body: body.data,
          monitoringId: monitoringId!,
          state: {
            approval_id: randomUUID(),
            request_id: body.data.request_id,
            tag: refused ? null : newTag(),
            status: refused ? 'refused' : 'queued',
            sms_sent: false,
            decided_by: null,
            decided_at: null,
            message: null,
            answers: null,
            refused_reason: refused ?? null,
          },
        }
        requests.push(approval)
        byId.set(approval.state.approval_id, approval)
        if (!refused) promote(approval.monitoringId)
        changed()
        return json(res, 200, approval.state)
      }

      const approval = approvalId ? byId.get(approvalId) : undefined
      if (!approval || approval.monitoringId !== monitoringId) return error(res, 404, 'approval_not_found', 'no such approval request')

      if (!settlePath && req.method === 'GET') {
        const query = ApprovalPollQuery.safeParse(Object.fromEntries(url.searchParams))
        if (!query.success) return error(res, 400, 'invalid_request', z.prettifyError(query.error))
        if (!FINAL.has(approval.state.status) && query.data.wait > 0) {
          const gone = new AbortController()
          res.on('close', () => gone.abort())
          const timer = setTimeout(() => gone.abort(), query.data.wait * 1000)
          const wake = () => FINAL.has(approval.state.status) && gone.abort()
          changes.on('change', wake)
          await once(gone.signal, 'abort')
          clearTimeout(timer)
          changes.off('change', wake)
        }
        return json(res, 200, approval.state)
      }

      if (settlePath && req.method === 'POST') {
        const body = SettleRequest.safeParse(parseJson(raw))
        if (!body.success) return error(res, 400, 'invalid_request', z.prettifyError(body.error))
        if (!FINAL.has(approval.state.status)) settle(approval, { status: 'settled_elsewhere', decided_by: body.data.decided_by })
        settlements.push({ approvalId: approval.state.approval_id, body: body.data, answered: approval.state })
        changed()
        return json(res, 200, approval.state)
      }
      return error(res, 405, 'method_not_allowed', `${req.method} is not allowed here`)
    } catch (e) {
      if (!res.headersSent) error(res, 502, 'server_error', (e as Error).message)
    }
  })

  const arrival = async <T>(list: T[], n: number): Promise<T> => {
    const signal = AbortSignal.timeout(15_000)
    while (list.length < n) {
      try {
        await once(changes, 'change', { signal })
      } catch {
        throw new Error(`the approvals stand-in saw ${list.length} of ${n} expected within 15 s`)
      }
    }
    return list[n - 1]!
  }

  return {
    url: listening.url,
    requests,
    settlements,
    request: (n) => arrival(requests, n),
    settlement: (n) => arrival(settlements, n),
    decide(approvalId, decision) {
      const approval = byId.get(approvalId)
      if (!approval) throw new Error(`no approval ${approvalId}`)
      if (!FINAL.has(approval.state.status)) {
        settle(approval, {
          status: decision.status,
          decided_by: 'phone',
          ...(decision.status === 'denied' ? { message: decision.message ?? 'Denied by text from +1***0000' } : {}),
          ...(decision.status === 'answered' ? { answers: decision.answers } : {}),
        })
      }
      return approval.state
    },
    get accountForbids() {
      return stub.accountForbids
    },
    set accountForbids(value: boolean) {
      stub.accountForbids = value
    },
    get refuseWith() {
      return stub.refuseWith
    },
    set refuseWith(value) {
      stub.refuseWith = value
    },
    close: listening.close,
  }
}
