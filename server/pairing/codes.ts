import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'

/** A 6-digit pairing code from the CSPRNG; every code from 000000 to 999999 is equally likely. */
export function newPairingCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0')
}

/** The temp token handed to the plugin between sending the code and exchanging it: 32 random bytes. */
export function newTempToken(): string {
  return randomBytes(32).toString('base64url')
}

/** Temp tokens are stored only as SHA-256: they carry 256 bits, so a plain hash cannot be reversed. */
export function hashTempToken(tempToken: string): string {
  return createHash('sha256').update(tempToken, 'utf8').digest('hex')
}

/**
 * A 6-digit code has only a million values, so it is stored as an HMAC keyed with the server pepper
 * (which never reaches the database) and bound to its temp token: a dump of the table cannot be brute
 * forced offline, and one code's hash says nothing about another's.
 */
export function hashPairingCode(code: string, tempTokenHash: string, pepper: string): string {
  return createHmac('sha256', pepper).update(`pairing-code:${tempTokenHash}:${code}`).digest('hex')
}

/** Constant-time comparison of a guessed code with the stored hash. */
export function pairingCodeMatches(guess: string, storedHash: string, tempTokenHash: string, pepper: string): boolean {
  const a = Buffer.from(hashPairingCode(guess, tempTokenHash, pepper), 'hex')
  const b = Buffer.from(storedHash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** The text that carries the code, and the copy of it that is stored (code blanked out). */
export function pairingCodeText(code: string, ttlSeconds: number, purpose: 'pairing' | 'dashboard' = 'pairing'): { body: string; storedBody: string } {
  const minutes = Math.round(ttlSeconds / 60)
  const what = purpose === 'dashboard' ? 'dashboard sign-in code' : 'code'
  const text = (c: string) => `Your claude-sms-notifier ${what} is ${c}. It expires in ${minutes} minutes. Don't share it.`
  return { body: text(code), storedBody: text('******') }
}
