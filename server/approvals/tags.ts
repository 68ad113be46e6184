import { randomInt } from 'node:crypto'

/**
 * Request tags: 4 characters of Crockford's base32 alphabet (no I, L, O, U), 20 random bits. A tag
 * names one request of one user and is never handed out twice to that user (a unique index holds it).
 */
export const TAG_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const TAG_LENGTH = 4

export function newTag(random: (max: number) => number = randomInt): string {
  let tag = ''
  for (let i = 0; i < TAG_LENGTH; i++) tag += TAG_ALPHABET[random(TAG_ALPHABET.length)]
  return tag
}

// Crockford's decoding: O reads as 0, I and L as 1, so a tag typed from memory still matches.
const LOOKALIKE: Record<string, string> = { O: '0', I: '1', L: '1' }

/** The tag a token stands for, or undefined when it cannot be one. */
export function normalizeTag(token: string): string | undefined {
  if (token.length !== TAG_LENGTH) return undefined
  let out = ''
  for (const ch of token.toUpperCase()) {
    const c = LOOKALIKE[ch] ?? ch
    if (!TAG_ALPHABET.includes(c)) return undefined
    out += c
  }
  return out
}
