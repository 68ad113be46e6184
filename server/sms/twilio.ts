import twilio from 'twilio'
import type { RequestOptions } from 'twilio/lib/base/RequestClient.js'
import type { TwilioConfig } from '../config.js'
import { SmsSendError, type OutgoingText, type SentText, type SmsTransport } from './transport.js'

/**
 * The SDK's own request client with the host swapped: TWILIO_API_BASE points the real twilio SDK at a
 * Twilio-compatible provider (SignalWire and others) or the local test endpoint. This is the SDK's
 * documented `httpClient` hook; `region`/`edge` can only change hosts inside twilio.com.
 */
export class BaseUrlRequestClient extends twilio.RequestClient {
  constructor(
    private readonly base: string,
    opts: ConstructorParameters<typeof twilio.RequestClient>[0],
  ) {
    super(opts)
  }
  override request<TData>(opts: RequestOptions<TData>) {
    return super.request({ ...opts, uri: opts.uri.replace(/^https:\/\/[^/]+\.twilio\.com/, this.base) })
  }
}

// Twilio error codes (twilio.com/docs/api/errors) that no retry can fix.
const PERMANENT_CODES = new Set([21211, 21408, 21610, 21612, 21614, 21608, 21606, 21659, 20003, 20404, 21603, 21604, 21617])

export function createTwilioTransport(config: TwilioConfig, opts: { timeoutMs?: number } = {}): SmsTransport {
  const requestOptions = { timeout: opts.timeoutMs ?? 5_000, keepAlive: true }
  const base = config.apiBase?.replace(/\/+$/, '')
  const httpClient = base ? new BaseUrlRequestClient(base, requestOptions) : new twilio.RequestClient(requestOptions)
  // Retries are ours (bounded, with jitter, under a deadline), so the SDK's own autoRetry stays off.
  const client = twilio(config.accountSid, config.authToken, { httpClient })
  const from = 'phoneNumber' in config.from ? { from: config.from.phoneNumber } : { messagingServiceSid: config.from.messagingServiceSid }

  return {
    name: 'twilio',
    async send(text: OutgoingText, { signal }): Promise<SentText> {
      signal.throwIfAborted()
      try {
        const message = await Promise.race([
          client.messages.create({ to: text.to, body: text.body, ...from, ...(text.statusCallback ? { statusCallback: text.statusCallback } : {}) }),
          new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
        ])
        return { providerSid: message.sid, status: message.status }
      } catch (e) {
        throw toSendError(e)
      }
    },
  }
}

function toSendError(e: unknown): SmsSendError {
  if (e instanceof SmsSendError) return e
  if (e instanceof twilio.RestException) {
    const permanent = (e.code !== undefined && PERMANENT_CODES.has(e.code)) || (e.status >= 400 && e.status < 500 && e.status !== 429 && e.code !== 20429)
    return new SmsSendError(e.message || `Twilio answered HTTP ${e.status}`, e.code, e.status, permanent)
  }
  const err = e as { name?: string; code?: string; message?: string }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return new SmsSendError('The SMS provider did not answer in time', undefined, undefined, false)
  return new SmsSendError(`Could not reach the SMS provider: ${err?.code ?? err?.message ?? String(e)}`, undefined, undefined, false)
}
