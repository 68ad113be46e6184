import { randomInt, randomUUID } from 'node:crypto'
import type { PendingQuery, Row, Sql } from 'postgres'
import type { Logger } from '../log.js'
import { hashPhone, maskPhone } from '../phone.js'
import type { ConsoleTexts } from './console.js'
import { segmentInfo } from './segments.js'
import { SmsSendError, type SmsTransport } from './transport.js'

export interface SendRequest {
  userId: string | null
  to: string
  body: string
  kind: 'pairing_code' | 'event' | 'digest' | 'went_dark' | 'reply' | 'test' | (string & {})
  /** What is stored instead of the body when the body holds a secret (pairing codes). */
  storedBody?: string
}

export type SendOutcome =
  | { sent: true; smsId: string; providerSid: string; status: string; segments: number }
  | { sent: false; smsId: string; error: SmsSendError; segments: number }

/** A text about to go out: its sms_messages row, not written yet. */
export interface PreparedText {
  id: string
  request: SendRequest
  toMasked: string
  toHash: string
  segments: number
  encoding: string
}

/** What the provider made of a text (transmit), before it is recorded. */
export type TransmitResult = { sent: true; providerSid: string; status: string; attempts: number } | { sent: false; error: SmsSendError; attempts: number }

export interface SmsSender {
  readonly transportName: SmsTransport['name']
  /** Console mode: the codes it texted, for the outbox of the number they went to. */
  readonly consoleTexts?: ConsoleTexts
  /** Records, sends and records the outcome: a statement before the provider call and one after it. */
  send(request: SendRequest): Promise<SendOutcome>
  /**
   * The pieces of send() for callers that write the text's rows inside their own statements (the
   * event path: server/sms/notifier.ts), so that a text costs no statement of its own: prepare, insert
   * `insertRow` in the statement that commits before the provider call, transmit, then put
   * `recordOutcome` in the statement after it.
   */
  prepare(request: SendRequest): PreparedText
  /** The columns and values of the "sending" row: `insert into sms_messages (${columns}) select ${values} where ...`. */
  insertRow(sql: Sql, text: PreparedText): { columns: PendingQuery<Row[]>; values: PendingQuery<Row[]> }
  /**
   * The provider call, with bounded retries under one deadline; no database. Failed attempts are
   * logged; the sent text too unless `logSent` is false (the caller logs it in a line of its own).
   */
  transmit(text: PreparedText, opts?: { logSent?: boolean }): Promise<TransmitResult>
  /** The update that records a transmit result on the text's row. */
  recordOutcome(sql: Sql, text: PreparedText, result: TransmitResult): PendingQuery<Row[]>
  /** The caller's answer for a transmit result, as send() gives it. */
  outcomeOf(text: PreparedText, result: TransmitResult): SendOutcome
}

export interface SenderOptions {
  sql: Sql
  transport: SmsTransport
  log: Logger
  /** HMAC key for the stored number hash. */
  pepper: string
  /** PUBLIC_URL/twilio/status, given to the provider for delivery receipts. */
  statusCallbackUrl?: string
  /** Total time one send may take, retries included: a slow provider never holds a request for long. */
  deadlineMs?: number
  maxAttempts?: number
  /** Backoff before retry n (1-based); full jitter by default. */
  backoffMs?: (attempt: number) => number
}

/**
 * Sends a text through the transport and records it: a row is written before the provider call
 * (status "sending") and updated after it (provider sid and status, or the error), so a crash in
 * between still leaves a trace. 429/20429, 5xx and network failures are retried a bounded number of
 * times with jitter under one deadline; permanent Twilio errors are not.
 */
export function createSmsSender(opts: SenderOptions): SmsSender {
  const deadlineMs = opts.deadlineMs ?? 4_000
  const maxAttempts = opts.maxAttempts ?? 3
  const backoffMs = opts.backoffMs ?? ((n: number) => randomInt(0, Math.min(1_000, 100 * 2 ** n) + 1))

  const { transport, log } = opts

  const sender: SmsSender = {
    transportName: transport.name,
    consoleTexts: 'fullBody' in transport ? (transport as ConsoleTexts) : undefined,

    prepare(request) {
      const info = segmentInfo(request.body)
      return { id: randomUUID(), request, toMasked: maskPhone(request.to), toHash: hashPhone(request.to, opts.pepper), segments: info.segments, encoding: info.encoding }
    },

    insertRow(sql, t) {
      return {
        columns: sql`id, user_id, kind, to_masked, to_hash, body, segments, encoding, transport, status`,
        values: sql`${t.id}::uuid, ${t.request.userId}::uuid, ${t.request.kind}::text, ${t.toMasked}::text, ${t.toHash}::text,
          ${t.request.storedBody ?? t.request.body}::text, ${t.segments}::int, ${t.encoding}::text, ${transport.name}::text, 'sending'::text`,
      }
    },

    async transmit(t, transmitOpts = {}) {
      const { request } = t
      const signal = AbortSignal.timeout(deadlineMs)
      let attempt = 0
      let lastError: SmsSendError | undefined
      while (attempt < maxAttempts) {
        attempt++
        try {
          const sent = await transport.send({ to: request.to, body: request.body, storedBody: request.storedBody, statusCallback: opts.statusCallbackUrl }, { signal })
          if (transmitOpts.logSent !== false) log.info({ sms_id: t.id, kind: request.kind, to: t.toMasked, segments: t.segments, attempt }, 'text sent')
          return { sent: true, providerSid: sent.providerSid, status: sent.status, attempts: attempt }
        } catch (e) {
          lastError = e instanceof SmsSendError ? e : new SmsSendError(String((e as Error)?.message ?? e), undefined, undefined, false)
          if (signal.aborted && !lastError.permanent) lastError = new SmsSendError('The SMS provider did not answer in time', lastError.code, lastError.httpStatus, false)
          log.warn({ sms_id: t.id, kind: request.kind, attempt, code: lastError.code, http_status: lastError.httpStatus, permanent: lastError.permanent, err_message: lastError.message }, 'text not sent')
          if (lastError.permanent || signal.aborted || attempt >= maxAttempts) break
          const wait = backoffMs(attempt)
          if (!(await sleepUnlessAborted(wait, signal))) break
        }
      }
      return { sent: false, error: lastError!, attempts: attempt }
    },

    recordOutcome(sql, t, r) {
      // A delivery receipt may have arrived before this update: never step back from a later status.
      return r.sent
        ? sql`update sms_messages set provider_sid = ${r.providerSid}, attempts = ${r.attempts}, updated_at = now(),
                status = case when status = 'sending' then ${r.status} else status end
              where id = ${t.id}`
        : sql`update sms_messages set status = 'failed', error_code = ${r.error.code ?? null}, error_message = ${r.error.message},
                attempts = ${r.attempts}, updated_at = now()
              where id = ${t.id}`
    },

    outcomeOf(t, r) {
      return r.sent ? { sent: true, smsId: t.id, providerSid: r.providerSid, status: r.status, segments: t.segments } : { sent: false, smsId: t.id, error: r.error, segments: t.segments }
    },

    async send(request) {
      const { sql } = opts
      const t = sender.prepare(request)
      const row = sender.insertRow(sql, t)
      await sql`insert into sms_messages (${row.columns}) select ${row.values}`
      const result = await sender.transmit(t)
      await sender.recordOutcome(sql, t, result)
      return sender.outcomeOf(t, result)
    },
  }
  return sender
}

function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
