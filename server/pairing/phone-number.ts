import { parsePhoneNumberFromString, type CountryCode, type PhoneNumberType } from 'libphonenumber-js/max'

export type PhoneNumberCheck =
  | { ok: true; e164: string }
  | { ok: false; reason: 'invalid' | 'extension' | 'country_not_allowed' | 'not_mobile'; message: string }

// Number types that cannot receive a text, or cost the sender money per text (premium rate, shared
// cost): the usual targets of SMS pumping. FIXED_LINE_OR_MOBILE (all of North America) stays allowed,
// as do PERSONAL_NUMBER and types libphonenumber cannot tell (undefined).
const REFUSED_TYPES = new Set<PhoneNumberType>(['PREMIUM_RATE', 'SHARED_COST', 'VOIP', 'UAN', 'PAGER', 'TOLL_FREE', 'FIXED_LINE', 'VOICEMAIL'])

/**
 * Turns what a person typed ("(415) 555-2671", "+44 7400 123456") into E.164, and decides whether the
 * server will text it: a valid number, in an allowed country (ALLOWED_COUNTRY_CODES), of a type that
 * receives texts. National formats are read in the country given, else in the first allowed calling code.
 */
export function checkPhoneNumber(input: string, opts: { allowedCountryCodes: string[]; country?: string }): PhoneNumberCheck {
  const defaultCallingCode = opts.allowedCountryCodes[0]?.replace(/^\+/, '')
  const country = opts.country?.toUpperCase() as CountryCode | undefined
  const parsed = parsePhoneNumberFromString(input, { defaultCountry: country, defaultCallingCode })
  if (!parsed || !parsed.isValid()) {
    return { ok: false, reason: 'invalid', message: 'That does not look like a valid phone number. Enter a mobile number, with its country code if it is outside your country (e.g. +44 7400 123456).' }
  }
  if (parsed.ext) return { ok: false, reason: 'extension', message: 'A number with an extension cannot receive texts. Enter a mobile number without an extension.' }
  const callingCode = `+${parsed.countryCallingCode}`
  if (!opts.allowedCountryCodes.includes(callingCode)) {
    return {
      ok: false,
      reason: 'country_not_allowed',
      message: `This server does not text numbers with country code ${callingCode}. Allowed: ${opts.allowedCountryCodes.join(', ')}.`,
    }
  }
  const type = parsed.getType()
  if (type && REFUSED_TYPES.has(type)) {
    return { ok: false, reason: 'not_mobile', message: `This number cannot receive pairing codes (${describeType(type)}). Enter a mobile number.` }
  }
  return { ok: true, e164: parsed.number }
}

function describeType(type: PhoneNumberType): string {
  return type.toLowerCase().replace(/_/g, ' ') + ' number'
}
