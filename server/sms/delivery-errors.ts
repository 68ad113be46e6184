/**
 * Twilio error codes (twilio.com/docs/api/errors) in words a person understands, for the dashboard's
 * delivery status. Codes not listed fall back to the provider's own message.
 */
const WORDS: Record<number, string> = {
  21211: 'not a valid phone number',
  21408: 'texting this country is not enabled on the Twilio account',
  21610: 'the number replied STOP',
  21612: 'the number cannot be reached from this sender',
  21614: 'not a mobile number',
  30001: 'too many texts queued at Twilio',
  30002: 'the Twilio account is suspended',
  30003: 'phone off or out of coverage',
  30004: 'blocked: the recipient blocked texts or opted out at the carrier',
  30005: 'unknown number, or no longer in service',
  30006: 'a landline, or a carrier that cannot take texts',
  30007: 'filtered by the carrier',
  30008: 'unknown error at the carrier',
  30032: 'the toll-free sending number is not verified',
  30034: 'the sending number is not registered for US A2P 10DLC',
}

export function describeDeliveryError(code: number | null | undefined, providerMessage?: string | null): string | null {
  if (code === null || code === undefined) return providerMessage?.trim() || null
  const words = WORDS[code]
  if (words) return `${words} (error ${code})`
  return providerMessage?.trim() ? `${providerMessage.trim()} (error ${code})` : `error ${code}`
}
