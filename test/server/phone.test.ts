import fc from 'fast-check'
import { parsePhoneNumberFromString } from 'libphonenumber-js/min'
import metadata from 'libphonenumber-js/min/metadata'
import { describe, expect, it } from 'vitest'
import { callingCodes } from '../../server/calling-codes.js'
import { maskPhone } from '../../server/phone.js'

// maskPhone finds the calling code in a plain list (so the MCP bundle carries no phone metadata);
// these tests hold that list to libphonenumber's, which the server uses to parse numbers.
describe('calling codes', () => {
  it('are exactly the ones libphonenumber knows, geographic and non-geographic', () => {
    const known = new Set([...Object.keys(metadata.country_calling_codes), ...Object.keys(metadata.nonGeographic ?? {})])
    expect([...callingCodes].sort()).toEqual([...known].sort())
  })

  it('mask any E.164-length number as libphonenumber would split it', () => {
    const digits = fc.stringMatching(/^[1-9]\d{6,14}$/)
    fc.assert(
      fc.property(digits, (d) => {
        const code = parsePhoneNumberFromString(`+${d}`)?.countryCallingCode
        if (code) expect(maskPhone(`+${d}`)).toBe(`+${code}***${d.slice(-4)}`)
      }),
      { numRuns: 5_000 },
    )
  })
})
