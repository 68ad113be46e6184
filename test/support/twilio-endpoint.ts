import { randomBytes } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import twilio from 'twilio'
import { recordSecret } from './secrets.js'

/** A message as the endpoint received it from the twilio SDK. */
export interface RecordedMessage {
  sid: string
  accountSid: string
  to: string
  from: string | undefined
  messagingServiceSid: string | undefined
  body: string
  statusCallback: string | undefined
  receivedAt: Date
}

/** A call as the endpoint received it from the twilio SDK's Calls API. */
export interface RecordedCall {
  sid: string
  to: string
  from: string
  /** Where Twilio fetches the call's TwiML when it is answered. */
  url: string | undefined
  twiml: string | undefined
  statusCallback: string | undefined
  statusCallbackEvents: string[]
  receivedAt: Date
}

/** What the person's phone did, as Twilio tells the server (signed webhooks). */
export interface CallPlay {
  /** The TwiML the server answered. */
  twiml: string
  status: number
  /** The words of every <Say>, in order. */
  said: string[]
  /** The Gather's action URL when the TwiML waits for a key. */
  gatherAction: string | undefined
}

interface Failure {
  status: number
  code: number
  message: string
}

// Twilio's magic test numbers (twilio.com/docs/iam/test-credentials) answer with these errors.
const MAGIC_NUMBERS: Record<string, Failure> = {
  '+15005550001': { status: 400, code: 21211, message: "The 'To' number +15005550001 is not a valid phone number." },
  '+15005550002': { status: 400, code: 21612, message: "The 'To' phone number is not currently reachable using the 'From' phone number via SMS." },
  '+15005550003': { status: 400, code: 21408, message: 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number.' },
  '+15005550004': { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' },
  '+15005550009': { status: 400, code: 21614, message: "'To' number is not a valid mobile number" },
}

export interface TwilioEndpoint {
  /** Give this to TWILIO_API_BASE. */
  baseUrl: string
  accountSid: string
  authToken: string
  messages: RecordedMessage[]
  /** Every request that reached the Messages resource, failed ones included. */
  attempts: number
  /** The next `count` send requests fail with this HTTP status and Twilio error code (e.g. 429/20429, 500). */
  failNext(count: number, failure: { status: number; code?: number; message?: string }): void
  /** Every send to this number fails with this error until cleared. */
  failFor(to: string, failure: { status: number; code: number; message?: string } | null): void
  /** Holds every answer until the returned release() is called: a slow provider without sleeping. */
  hold(): () => void
  /** Resolves when at least `count` send requests have arrived (held or failed ones too); rejects after timeoutMs. */
  waitForAttempts(count: number, timeoutMs?: number): Promise<void>
  /** Resolves when at least `count` messages have been accepted; rejects after timeoutMs. */
  waitForMessages(count: number, timeoutMs?: number): Promise<RecordedMessage[]>
  /** The newest message sent to `to`. */
  lastTo(to: string): RecordedMessage | undefined
  /** Posts a delivery receipt for a message to its StatusCallback, signed the way Twilio signs it. */
  postStatus(sid: string, status: string, opts?: { errorCode?: number; url?: string; tamper?: boolean }): Promise<Response>
  calls: RecordedCall[]
  /** Resolves when at least `count` calls have been placed; rejects after timeoutMs. */
  waitForCalls(count: number, timeoutMs?: number): Promise<RecordedCall[]>
  /** The person answers: Twilio fetches the call's TwiML (signed), as it does once a call is picked up. */
  answerCall(sid: string): Promise<CallPlay>
  /** The person presses keys while the Gather of `play` listens: Twilio posts Digits to its action (signed). */
  pressKey(sid: string, digits: string, play: CallPlay): Promise<CallPlay>
  /** Twilio's status callback for a call (queued, ringing, in-progress, completed, busy, no-answer, failed). */
  postCallStatus(sid: string, status: string, opts?: { duration?: number }): Promise<Response>
  /** The X-Twilio-Signature Twilio would send for this URL and form. */
  sign(url: string, params: Record<string, string>): string
  /** The TWILIO_* settings of a server that texts and calls through this endpoint from `phoneNumber`. */
  serverEnv(phoneNumber: string): { TWILIO_ACCOUNT_SID: string; TWILIO_AUTH_TOKEN: string; TWILIO_PHONE_NUMBER: string; TWILIO_API_BASE: string }
  reset(): void
  close(): Promise<void>
}

export async function startTwilioEndpoint(opts: { accountSid?: string; authToken?: string } = {}): Promise<TwilioEndpoint> {
  const accountSid = opts.accountSid ?? `AC${randomBytes(16).toString('hex')}`
  const authToken = opts.authToken ?? randomBytes(16).toString('hex')
  const events = new EventEmitter()
  const messages: RecordedMessage[] = []
  const calls: RecordedCall[] = []
  const failFor = new Map<string, Failure>()
  let queuedFailures: Failure[] = []
  let held: Promise<void> | undefined
  let attempts = 0

  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`

  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
  const twilioError = (res: http.ServerResponse, f: Failure) =>
    reply(res, f.status, { code: f.code, message: f.message, more_info: `https://www.twilio.com/docs/errors/${f.code}`, status: f.status })

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
    const callsMatch = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(req.url?.split('?')[0] ?? '')
    if (callsMatch && req.method === 'POST') {
      if (req.headers.authorization !== expectedAuth || callsMatch[1] !== accountSid) return twilioError(res, { status: 401, code: 20003, message: 'Authenticate' })
      const to = form.get('To') ?? ''
      const from = form.get('From') ?? ''
      if (!to) return twilioError(res, { status: 400, code: 21201, message: "No 'To' number is specified" })
      if (!from) return twilioError(res, { status: 400, code: 21213, message: "No 'From' number is specified" })
      if (!form.get('Url') && !form.get('Twiml')) return twilioError(res, { status: 400, code: 21205, message: 'Url parameter is required.' })
      const failure = failFor.get(to)
      if (failure) return twilioError(res, failure)
      const call: RecordedCall = {
        sid: `CA${randomBytes(16).toString('hex')}`,
        to,
        from,
        url: form.get('Url') ?? undefined,
        twiml: form.get('Twiml') ?? undefined,
        statusCallback: form.get('StatusCallback') ?? undefined,
        statusCallbackEvents: form.getAll('StatusCallbackEvent'),
        receivedAt: new Date(),
      }
      calls.push(call)
      recordSecret('phone', to)
      events.emit('call', call)
      return reply(res, 201, {
        sid: call.sid,
        account_sid: accountSid,
        to,
        from,
        status: 'queued',
        direction: 'outbound-api',
        api_version: '2010-04-01',
        date_created: new Date().toUTCString(),
        date_updated: new Date().toUTCString(),
        uri: `/2010-04-01/Accounts/${accountSid}/Calls/${call.sid}.json`,
      })
    }
    const match = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.url?.split('?')[0] ?? '')
    if (!match || req.method !== 'POST') return reply(res, 404, { code: 20404, message: 'The requested resource was not found', status: 404 })
    attempts++
    events.emit('attempt')
    if (held) await held
    if (req.headers.authorization !== expectedAuth || match[1] !== accountSid) {
      return twilioError(res, { status: 401, code: 20003, message: 'Authenticate' })
    }
    const to = form.get('To') ?? ''
    const body = form.get('Body') ?? ''
    if (!to) return twilioError(res, { status: 400, code: 21604, message: "A 'To' phone number is required." })
    if (!body) return twilioError(res, { status: 400, code: 21602, message: 'Message body is required.' })
    if (!form.get('From') && !form.get('MessagingServiceSid')) return twilioError(res, { status: 400, code: 21603, message: "A 'From' phone number is required." })
    const queued = queuedFailures.shift()
    if (queued) return twilioError(res, queued)
    const failure = failFor.get(to) ?? MAGIC_NUMBERS[to]
    if (failure) return twilioError(res, failure)
    const message: RecordedMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      accountSid,
      to,
      from: form.get('From') ?? undefined,
      messagingServiceSid: form.get('MessagingServiceSid') ?? undefined,
      body,
      statusCallback: form.get('StatusCallback') ?? undefined,
      receivedAt: new Date(),
    }
    messages.push(message)
    // The number and any code texted are secrets the log must never show (test/support/log-scan.ts).
    recordSecret('phone', to)
    recordSecret('code', /\bcode is (\d{6})\b/.exec(body)?.[1])
    events.emit('message', message)
    reply(res, 201, {
      sid: message.sid,
      account_sid: accountSid,
      to,
      from: message.from ?? null,
      messaging_service_sid: message.messagingServiceSid ?? null,
      body,
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: new Date().toUTCString(),
      date_updated: new Date().toUTCString(),
      uri: `/2010-04-01/Accounts/${accountSid}/Messages/${message.sid}.json`,
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo

  const signedPost = async (url: string, params: Record<string, string>, signature = endpoint.sign(url, params)): Promise<Response> =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(5_000),
    })
  const callParams = (call: RecordedCall, status: string): Record<string, string> => ({
    CallSid: call.sid,
    AccountSid: accountSid,
    From: call.from,
    To: call.to,
    CallStatus: status,
    Direction: 'outbound-api',
    ApiVersion: '2010-04-01',
  })
  const findCall = (sid: string) => {
    const call = calls.find((c) => c.sid === sid)
    if (!call) throw new Error(`no call ${sid} was placed`)
    return call
  }
  const play = async (res: Response): Promise<CallPlay> => {
    const twiml = await res.text()
    const unescape = (s: string) => s.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
    const said = [...twiml.matchAll(/<Say[^>]*>([\s\S]*?)<\/Say>/g)].map((m) => unescape(m[1]!))
    const action = /<Gather[^>]*\saction="([^"]+)"/.exec(twiml)?.[1]
    return { twiml, status: res.status, said, gatherAction: action ? unescape(action) : undefined }
  }

  const endpoint: TwilioEndpoint = {
    baseUrl: `http://127.0.0.1:${port}`,
    accountSid,
    authToken,
    messages,
    calls,
    async waitForCalls(count, timeoutMs = 10_000) {
      const deadline = AbortSignal.timeout(timeoutMs)
      while (calls.length < count) {
        try {
          await once(events, 'call', { signal: deadline })
        } catch {
          throw new Error(`expected ${count} call(s) at the Twilio endpoint within ${timeoutMs} ms, got ${calls.length}`)
        }
      }
      return calls.slice(0, count)
    },
    async answerCall(sid) {
      const call = findCall(sid)
      if (!call.url) throw new Error(`call ${sid} has no Url to fetch`)
      return play(await signedPost(call.url, callParams(call, 'in-progress')))
    },
    async pressKey(sid, digits, previous) {
      const call = findCall(sid)
      if (!previous.gatherAction) throw new Error(`the call's TwiML waits for no key: ${previous.twiml}`)
      return play(await signedPost(previous.gatherAction, { ...callParams(call, 'in-progress'), Digits: digits, FinishedOnKey: '' }))
    },
    postCallStatus(sid, status, o = {}) {
      const call = findCall(sid)
      if (!call.statusCallback) throw new Error(`call ${sid} has no StatusCallback`)
      const params = callParams(call, status)
      if (o.duration !== undefined) {
        params.CallDuration = String(o.duration)
        params.Duration = String(Math.ceil(o.duration / 60))
      }
      return signedPost(call.statusCallback, params)
    },
    get attempts() {
      return attempts
    },
    failNext(count, f) {
      for (let i = 0; i < count; i++) queuedFailures.push({ status: f.status, code: f.code ?? (f.status === 429 ? 20429 : 20500), message: f.message ?? `Simulated HTTP ${f.status}` })
    },
    failFor(to, f) {
      if (f) failFor.set(to, { ...f, message: f.message ?? `Simulated error ${f.code}` })
      else failFor.delete(to)
    },
    hold() {
      let release!: () => void
      held = new Promise<void>((r) => (release = r))
      return () => {
        held = undefined
        release()
      }
    },
    async waitForAttempts(count, timeoutMs = 10_000) {
      const deadline = AbortSignal.timeout(timeoutMs)
      while (attempts < count) {
        try {
          await once(events, 'attempt', { signal: deadline })
        } catch {
          throw new Error(`expected ${count} send request(s) at the Twilio endpoint within ${timeoutMs} ms, got ${attempts}`)
        }
      }
    },
    async waitForMessages(count, timeoutMs = 10_000) {
      const deadline = AbortSignal.timeout(timeoutMs)
      while (messages.length < count) {
        try {
          await once(events, 'message', { signal: deadline })
        } catch {
          throw new Error(`expected ${count} text(s) at the Twilio endpoint within ${timeoutMs} ms, got ${messages.length}: ${JSON.stringify(messages.map((m) => m.body))}`)
        }
      }
      return messages.slice(0, count)
    },
    lastTo(to) {
      return messages.filter((m) => m.to === to).at(-1)
    },
    sign(url, params) {
      return twilio.getExpectedTwilioSignature(authToken, url, params)
    },
    serverEnv(phoneNumber) {
      return { TWILIO_ACCOUNT_SID: accountSid, TWILIO_AUTH_TOKEN: authToken, TWILIO_PHONE_NUMBER: phoneNumber, TWILIO_API_BASE: endpoint.baseUrl }
    },
    async postStatus(sid, status, o = {}) {
      const message = messages.find((m) => m.sid === sid)
      const url = o.url ?? message?.statusCallback
      if (!url) throw new Error(`no StatusCallback known for ${sid}`)
      const params: Record<string, string> = {
        MessageSid: sid,
        SmsSid: sid,
        AccountSid: accountSid,
        MessageStatus: status,
        SmsStatus: status,
        To: message?.to ?? '',
        From: message?.from ?? '',
        ApiVersion: '2010-04-01',
      }
      if (o.errorCode !== undefined) params.ErrorCode = String(o.errorCode)
      const signature = endpoint.sign(url, params)
      if (o.tamper) params.MessageStatus = 'delivered'
      return signedPost(url, params, signature)
    },
    reset() {
      messages.length = 0
      calls.length = 0
      queuedFailures = []
      failFor.clear()
      attempts = 0
    },
    close() {
      server.closeAllConnections()
      return new Promise((r) => server.close(() => r()))
    },
  }
  return endpoint
}
