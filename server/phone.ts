import { createHmac } from 'node:crypto'
import { callingCodeOf } from './calling-codes.js'

/**
 * "+14155558912" -> "+1***8912": the calling code and the last four digits, the way texts, logs and
 * the dashboard show a number.
 */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, '')
  if (digits.length < 7) return '+***'
  const callingCode = callingCodeOf(digits) ?? digits.slice(0, digits.startsWith('1') || digits.startsWith('7') ? 1 : 2)
  return `+${callingCode}***${digits.slice(-4)}`
}

/** Stable keyed hash of a number, for lookups without keeping the number in every table. */
export function hashPhone(e164: string, pepper: string): string {
  return createHmac('sha256', pepper).update(`phone:${e164}`).digest('hex')
}
