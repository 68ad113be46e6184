import { describe, expect, it } from 'vitest'
import { maskPhone } from '../../server/phone.js'
import { captureLog } from '../support/log.js'
import { TOKEN_SHAPES } from '../support/token-shapes.js'

describe('the logger masks secrets by itself', () => {
  it('masks phone numbers in messages and nested fields, keeping the calling code and last four digits', () => {
    const { log, lines } = captureLog('log-masking')
    log.info({ user: { phone: '+14155558912' }, list: ['+447911123456'] }, 'texted +14155558912 at 10:00')
    const line = lines.at(-1)!
    expect(line).not.toMatch(/4155558912|7911123456/)
    expect(line).toContain('+1***8912')
    expect(line).toContain('+44***3456')
  })

  it('redacts tokens, codes, secrets and authorization headers whatever their key or place', () => {
    const { log, lines } = captureLog('log-redaction')
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'
    log.warn(
      { access_token: 'abc123secretvalue', pairing_code: '493021', headers: { authorization: `Bearer ${jwt}` }, url: '/cb?temp_token=zzzzzzzz&state=s1' },
      `exchange failed for ${jwt}`,
    )
    const line = lines.at(-1)!
    for (const secret of ['abc123secretvalue', '493021', jwt, 'zzzzzzzz']) expect(line).not.toContain(secret)
    expect(line).toContain('[redacted')
  })

  it.each(TOKEN_SHAPES)('masks a %s in messages, errors and fields at any depth', (_name, text, secret) => {
    const { log, lines } = captureLog('log-token-shapes')
    log.warn({ output: text, deep: { a: [{ b: { c: text } }] } }, `tool failed: ${text}`)
    log.error({ err: new Error(text) }, 'failed')
    for (const line of lines.slice(-2)) expect(line).not.toContain(secret)
  })

  it('keeps numeric Twilio error codes, which operators need', () => {
    const { log, entries } = captureLog('log-codes')
    log.warn({ code: 21610 }, 'text not sent')
    expect(entries().at(-1)!.code).toBe(21610)
  })

  it('masks numbers inside error messages and stacks', () => {
    const { log, lines } = captureLog('log-errors')
    log.error({ err: new Error('cannot text +14155550123') }, 'failed')
    expect(lines.at(-1)).not.toContain('4155550123')
  })
})

describe('maskPhone', () => {
  it.each([
    ['+14155558912', '+1***8912'],
    ['+447911123456', '+44***3456'],
    ['+4915112345678', '+49***5678'],
    ['+35312345678', '+353***5678'],
    ['12', '+***'],
  ])('%s -> %s', (input, masked) => {
    expect(maskPhone(input)).toBe(masked)
  })
})
