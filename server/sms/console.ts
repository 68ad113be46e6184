import { randomBytes } from 'node:crypto'
import { TEMP_TOKEN_TTL_SECONDS } from '../../contract/api.js'
import type { Logger } from '../log.js'
import { maskPhone } from '../phone.js'
import type { OutgoingText, SentText, SmsTransport } from './transport.js'

/**
 * Every console text starts its terminal line with this, so whoever reads the server's output (and
 * the test support, which keeps these lines apart from the logs it scans for secrets) can tell the
 * texts from the log.
 */
export const CONSOLE_TEXT_PREFIX = '[console text]'

/** Codes texted in console mode, kept in memory for their lifetime so the outbox can show them to their owner. */
export interface ConsoleTexts {
  /** The full body of a text whose stored copy is blanked (a code), while the code can still be used. */
  fullBody(providerSid: string, now: Date): string | undefined
}

export type ConsoleTransport = SmsTransport & ConsoleTexts

const KEPT_CODES = 200

/**
 * Used when no Twilio account is configured. Each text is printed as one line on the terminal
 * (`print`, stderr by default), whatever LOG_LEVEL says: a newcomer must see their sign-in code. The
 * JSON log gets the stored copy only (codes blanked), and the row is stored like any other, so the
 * dashboard's outbox shows what would have been sent.
 */
export function createConsoleTransport(log: Logger, opts: { print?: (line: string) => void; now?: () => Date } = {}): ConsoleTransport {
  const print = opts.print ?? ((line: string) => void process.stderr.write(line))
  const now = opts.now ?? (() => new Date())
  const codes = new Map<string, { body: string; until: number }>()
  return {
    name: 'console',
    async send(text: OutgoingText): Promise<SentText> {
      const providerSid = `CN${randomBytes(16).toString('hex')}`
      const to = maskPhone(text.to)
      print(`${CONSOLE_TEXT_PREFIX} to ${to}: ${text.body.replace(/\s*\n\s*/g, ' / ')}\n`)
      log.info({ to, sid: providerSid, text: text.storedBody ?? text.body }, 'text (console transport, not sent: configure Twilio to send)')
      if (text.storedBody !== undefined && text.storedBody !== text.body) {
        codes.set(providerSid, { body: text.body, until: now().getTime() + TEMP_TOKEN_TTL_SECONDS * 1000 })
        for (const sid of codes.keys()) {
          if (codes.size <= KEPT_CODES) break
          codes.delete(sid)
        }
      }
      return { providerSid, status: 'logged' }
    },
    fullBody(providerSid, at) {
      const kept = codes.get(providerSid)
      return kept && kept.until > at.getTime() ? kept.body : undefined
    },
  }
}
