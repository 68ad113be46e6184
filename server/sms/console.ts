import { randomBytes } from 'node:crypto'
import type { Logger } from '../log.js'
import { maskPhone } from '../phone.js'
import type { OutgoingText, SentText, SmsTransport } from './transport.js'

/**
 * Used when no Twilio account is configured: each text is written to the log (number masked) and stored
 * like any other, so the dashboard's outbox shows what would have been sent.
 */
export function createConsoleTransport(log: Logger): SmsTransport {
  return {
    name: 'console',
    async send(text: OutgoingText): Promise<SentText> {
      const providerSid = `CN${randomBytes(16).toString('hex')}`
      log.info({ to: maskPhone(text.to), sid: providerSid, text: text.body }, 'text (console transport, not sent: configure Twilio to send)')
      return { providerSid, status: 'logged' }
    },
  }
}
