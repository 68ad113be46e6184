/** One outgoing text as a transport sees it. */
export interface OutgoingText {
  to: string
  body: string
  /** The copy that is stored and logged when the body holds a secret (a code blanked out). */
  storedBody?: string
  /** Where the provider posts delivery receipts (PUBLIC_URL/twilio/status). */
  statusCallback?: string
}

export interface SentText {
  providerSid: string
  status: string
}

/**
 * A provider failure. `permanent` failures (invalid number, opted out, no permission) are never retried;
 * the others (429, 5xx, network) may be, a bounded number of times.
 */
export class SmsSendError extends Error {
  override name = 'SmsSendError'
  constructor(
    message: string,
    readonly code: number | undefined,
    readonly httpStatus: number | undefined,
    readonly permanent: boolean,
  ) {
    super(message)
  }
}

export interface SmsTransport {
  readonly name: 'twilio' | 'console'
  send(text: OutgoingText, opts: { signal: AbortSignal }): Promise<SentText>
}
