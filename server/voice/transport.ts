import { randomBytes } from 'node:crypto'
import twilio from 'twilio'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import { maskPhone } from '../phone.js'
import { BaseUrlRequestClient } from '../sms/twilio.js'

/** One outgoing call as a transport sees it. */
export interface OutgoingCall {
  to: string
  /** Where the provider fetches the call's TwiML once it is answered (PUBLIC_URL/twilio/voice/calls/:id). */
  url: string
  /** Where the provider posts the call's status (PUBLIC_URL/twilio/voice/status). */
  statusCallback: string
  /** Logged and listed in console mode. */
  script: string
}

export interface PlacedCall {
  providerSid: string
  status: string
}

export interface VoiceTransport {
  readonly name: 'twilio' | 'console'
  place(call: OutgoingCall, opts: { signal: AbortSignal }): Promise<PlacedCall>
}

// Twilio sends a status callback for each of these (twilio.com/docs/voice/api/call-resource#statuscallbackevent).
const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed']

/**
 * Calls through the twilio SDK's Calls API from TWILIO_PHONE_NUMBER. None without Twilio (console
 * mode); a server that sends through a Messaging Service only has no number to call from: undefined,
 * and the log says so.
 */
export function createVoiceTransport(config: Config, log: Logger, opts: { timeoutMs?: number } = {}): VoiceTransport | undefined {
  const t = config.twilio
  if (!t) return createConsoleVoice(log)
  if (!('phoneNumber' in t.from)) {
    log.warn('Calls need TWILIO_PHONE_NUMBER as caller id; with TWILIO_MESSAGING_SERVICE_SID only, no call is placed')
    return undefined
  }
  const from = t.from.phoneNumber
  const requestOptions = { timeout: opts.timeoutMs ?? 5_000, keepAlive: true }
  const base = t.apiBase?.replace(/\/+$/, '')
  const client = twilio(t.accountSid, t.authToken, { httpClient: base ? new BaseUrlRequestClient(base, requestOptions) : new twilio.RequestClient(requestOptions) })
  return {
    name: 'twilio',
    async place(call, { signal }) {
      signal.throwIfAborted()
      const created = await Promise.race([
        client.calls.create({
          to: call.to,
          from,
          url: call.url,
          method: 'POST',
          statusCallback: call.statusCallback,
          statusCallbackMethod: 'POST',
          statusCallbackEvent: STATUS_EVENTS,
        }),
        new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      ])
      return { providerSid: created.sid, status: created.status }
    },
  }
}

/** Console mode: the call is logged (number masked) and listed in the dashboard outbox, where a keypress can be simulated. */
export function createConsoleVoice(log: Logger): VoiceTransport {
  return {
    name: 'console',
    async place(call) {
      const providerSid = `CN${randomBytes(16).toString('hex')}`
      log.info({ to: maskPhone(call.to), sid: providerSid, script: call.script }, 'call (console transport, not placed: configure Twilio to call)')
      return { providerSid, status: 'logged' }
    },
  }
}
