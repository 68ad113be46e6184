import { describe, expect, it } from 'vitest'
import { answersFor, isUsableTag, parseReply, type ParsedReply } from '../../server/approvals/reply-grammar.js'
import { newTag, normalizeTag, TAG_ALPHABET } from '../../server/approvals/tags.js'
import { parseInboundCommand } from '../../server/sms/inbound-commands.js'

const known = new Set(['K7QX', 'M4ZP'])

describe('reply grammar: allow and deny', () => {
  const cases: [string, ParsedReply][] = [
    ['Y K7QX', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['y k7qx', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['K7QX Y', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['  yes,   K7QX!! ', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['allow K7QX', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['OK k7qx.', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['k7qx - yes', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['"Y" (K7QX)', { kind: 'decision', decision: 'allow', tag: 'K7QX' }],
    ['N K7QX', { kind: 'decision', decision: 'deny', tag: 'K7QX' }],
    ['no, K7QX', { kind: 'decision', decision: 'deny', tag: 'K7QX' }],
    ['DENY k7qx', { kind: 'decision', decision: 'deny', tag: 'K7QX' }],
    ['K7QX n', { kind: 'decision', decision: 'deny', tag: 'K7QX' }],
    ['N K7QX use yarn instead', { kind: 'decision', decision: 'deny', tag: 'K7QX', note: 'use yarn instead' }],
    // Crockford: O is 0, I and L are 1
    ['Y M4ZP', { kind: 'decision', decision: 'allow', tag: 'M4ZP' }],
    ['y', { kind: 'decision', decision: 'allow', tag: null }],
    ['ok', { kind: 'decision', decision: 'allow', tag: null }],
    ['N', { kind: 'decision', decision: 'deny', tag: null }],
    ['no.', { kind: 'decision', decision: 'deny', tag: null }],
    // A tag-shaped word it was never sent still names a request (the answer lists the real ones)
    ['Y ZZZZ', { kind: 'decision', decision: 'allow', tag: 'ZZZZ' }],
  ]
  it.each(cases)('%j', (body, expected) => {
    expect(parseReply(body, known)).toEqual(expected)
  })

  it('a contradictory or empty text is no answer', () => {
    for (const body of ['', '   ', 'Y N K7QX', 'yes no', 'K7QX', '!!!', 'hello there', 'make it so'])
      expect(parseReply(body, known), body).toEqual({ kind: 'none' })
    // ... but words next to a tag this number was really sent are an answer.
    expect(parseReply('make it so', new Set(['MAKE']))).toEqual({ kind: 'words', tag: 'MAKE', text: 'it so' })
  })

  it('the verbs are never answers: the inbound route reads them first, and none of them parses as a decision', () => {
    for (const verb of ['STOP', 'START', 'YES', 'yes', 'Yes.', 'HELP', 'STATUS', 'PAUSE 2h', 'RESUME', 'UNSTOP', 'CANCEL'])
      expect(parseInboundCommand(verb).kind, verb).not.toBe('unknown')
    // A lone YES is Twilio's opt-in keyword (START-like), not an answer; "Y" and "YES K7QX" are answers.
    expect(parseInboundCommand('YES').kind).toBe('start')
    expect(parseInboundCommand('Y').kind).toBe('unknown')
    expect(parseInboundCommand('YES K7QX').kind).toBe('unknown')
  })
})

describe('reply grammar: questions', () => {
  const cases: [string, ParsedReply][] = [
    ['2 K7QX', { kind: 'choices', tag: 'K7QX', picks: [{ question: null, options: [2] }] }],
    ['K7QX 2', { kind: 'choices', tag: 'K7QX', picks: [{ question: null, options: [2] }] }],
    ['K7QX 1,3', { kind: 'choices', tag: 'K7QX', picks: [{ question: null, options: [1, 3] }] }],
    ['K7QX 1:2 2:1,3', { kind: 'choices', tag: 'K7QX', picks: [{ question: 1, options: [2] }, { question: 2, options: [1, 3] }] }],
    ['k7qx 2 1', { kind: 'choices', tag: 'K7QX', picks: [{ question: null, options: [2] }, { question: null, options: [1] }] }],
    ['2', { kind: 'choices', tag: null, picks: [{ question: null, options: [2] }] }],
    ['K7QX use MySQL instead', { kind: 'words', tag: 'K7QX', text: 'use MySQL instead' }],
    ['Use MySQL instead k7qx', { kind: 'words', tag: 'K7QX', text: 'Use MySQL instead' }],
    ['K7QX: keep it simple', { kind: 'words', tag: 'K7QX', text: 'keep it simple' }],
  ]
  it.each(cases)('%j', (body, expected) => {
    expect(parseReply(body, known)).toEqual(expected)
  })

  const db = { question: 'Which database?', options: [{ label: 'PostgreSQL' }, { label: 'MySQL' }, { label: 'SQLite' }], multiSelect: false }
  const features = { question: 'Which features?', options: [{ label: 'auth' }, { label: 'logs' }, { label: 'metrics' }], multiSelect: true }

  it('maps numbers to option labels, question by question', () => {
    const answer = (body: string, qs = [db]) => answersFor(parseReply(body, known) as Extract<ParsedReply, { kind: 'choices' | 'words' }>, qs)
    expect(answer('2 K7QX')).toEqual({ answers: { 'Which database?': 'MySQL' } })
    expect(answer('K7QX use MySQL 8 instead')).toEqual({ answers: { 'Which database?': 'use MySQL 8 instead' } })
    expect(answer('K7QX 1:2 2:1,3', [db, features])).toEqual({ answers: { 'Which database?': 'MySQL', 'Which features?': 'auth, metrics' } })
    expect(answer('K7QX 3 2', [db, features])).toEqual({ answers: { 'Which database?': 'SQLite', 'Which features?': 'logs' } })
    expect(answer('K7QX 1,3', [features])).toEqual({ answers: { 'Which features?': 'auth, metrics' } })
  })

  it('says what is wrong with an answer that does not fit the questions', () => {
    const answer = (body: string, qs = [db]) => answersFor(parseReply(body, known) as Extract<ParsedReply, { kind: 'choices' | 'words' }>, qs)
    expect(answer('4 K7QX')).toEqual({ error: 'Question has no option 4.' })
    expect(answer('K7QX 1,2')).toEqual({ error: 'Question takes one option.' })
    expect(answer('K7QX 1:2', [db, features])).toEqual({ error: 'Question 2 has no answer.' })
    expect(answer('K7QX 2', [db, features])).toEqual({ error: 'Answer each of the 2 questions, e.g. 1:2 2:1' })
    expect(answer('K7QX 1:1 3:1', [db, features])).toEqual({ error: 'There is no question 3.' })
    expect(answer('K7QX my own words', [db, features])).toEqual({ error: 'Several questions: answer each by number, e.g. 1:2 2:1' })
  })
})

describe('tags', () => {
  it('are 4 characters of Crockford base32 (20 bits), from a uniform draw', () => {
    expect(TAG_ALPHABET).toHaveLength(32)
    const seen = new Set<string>()
    for (let i = 0; i < 2_000; i++) {
      const tag = newTag()
      expect(tag).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}$/)
      seen.add(tag)
    }
    // 2000 draws from 2^20: a handful of repeats at most (birthday bound ~2); a weak source would show many.
    expect(seen.size).toBeGreaterThan(1_990)
  })

  it('read O as 0 and I, L as 1; refuse what cannot be one', () => {
    expect(normalizeTag('k7qo')).toBe('K7Q0')
    expect(normalizeTag('LIQX')).toBe('11QX')
    expect(normalizeTag('K7Q')).toBeUndefined()
    expect(normalizeTag('K7QU')).toBeUndefined()
  })

  it('never read as an answer or a number', () => {
    for (const tag of ['DENY', 'YEAH', '1234', 'N0PE'.replace('0', 'O')]) expect(isUsableTag(tag), tag).toBe(false)
    expect(isUsableTag('K7QX')).toBe(true)
  })
})
