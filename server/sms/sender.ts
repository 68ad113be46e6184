import { randomInt } from 'node:crypto'
import type { Sql } from 'postgres'
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

export interface SmsSender {
  readonly transportName: SmsTransport['name']
  /** Console mode: the codes it texted, for the outbox of the number they went to. */
  readonly consoleTexts?: ConsoleTexts
  send(request: SendRequest): Promise<SendOutcome>
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

  return {
    transportName: opts.transport.name,
    consoleTexts: 'fullBody' in opts.transport ? (opts.transport as ConsoleTexts) : undefined,
    async send(request) {
      const { sql, transport, log } = opts
      const info = segmentInfo(request.body)
      const [row] = await sql<{ id: string }[]>`
        insert into sms_messages (user_id, kind, to_masked, to_hash, body, segments, encoding, transport, status)
        values (${request.userId}, ${request.kind}, ${maskPhone(request.to)}, ${hashPhone(request.to, opts.pepper)},
                ${request.storedBody ?? request.body}, ${info.segments}, ${info.encoding}, ${transport.name}, 'sending')
        returning id`
      const smsId = row!.id
      const signal = AbortSignal.timeout(deadlineMs)
      let attempt = 0
      let lastError: SmsSendError | undefined
      while (attempt < maxAttempts) {
        attempt++
        try {
          const sent = await transport.send({ to: request.to, body: request.body, storedBody: request.storedBody, statusCallback: opts.statusCallbackUrl }, { signal })
          // A delivery receipt may have arrived before this update: never step back from a later status.
          await sql`
            update sms_messages set provider_sid = ${sent.providerSid}, attempts = ${attempt}, updated_at = now(),
              status = case when status = 'sending' then ${sent.status} else status end
            where id = ${smsId}`
          log.info({ sms_id: smsId, kind: request.kind, to: maskPhone(request.to), segments: info.segments, attempt }, 'text sent')
          return { sent: true, smsId, providerSid: sent.providerSid, status: sent.status, segments: info.segments }
        } catch (e) {
          lastError = e instanceof SmsSendError ? e : new SmsSendError(String((e as Error)?.message ?? e), undefined, undefined, false)
          if (signal.aborted && !lastError.permanent) lastError = new SmsSendError('The SMS provider did not answer in time', lastError.code, lastError.httpStatus, false)
          log.warn({ sms_id: smsId, kind: request.kind, attempt, code: lastError.code, http_status: lastError.httpStatus, permanent: lastError.permanent, err_message: lastError.message }, 'text not sent')
          if (lastError.permanent || signal.aborted || attempt >= maxAttempts) break
          const wait = backoffMs(attempt)
          if (!(await sleepUnlessAborted(wait, signal))) break
        }
      }
      const error = lastError!
      await sql`
        update sms_messages set status = 'failed', error_code = ${error.code ?? null}, error_message = ${error.message},
          attempts = ${attempt}, updated_at = now()
        where id = ${smsId}`
      return { sent: false, smsId, error, segments: info.segments }
    },
  }
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
