import { describe, expect, it } from 'vitest'
import { decideCall } from '../../server/voice/policy.js'
import { estimatedSeconds, fullScript, requestScript, waitScript } from '../../server/voice/script.js'

const now = new Date('2026-03-01T23:30:00Z')
const awake = { optedOutAt: null, pausedUntil: null, quietHours: null }
const night = { ...awake, quietHours: { start: '22:00', end: '07:00', timeZone: 'UTC', allowWaiting: true } }

describe('whether a call may ring now', () => {
  it('STOP means no call ever; quiet hours and a pause hold it unless calls may break them; the daily cap refuses it', () => {
    expect(decideCall({ ...awake, optedOutAt: now }, { callsBreakQuietHours: true }, now, 0, 10)).toEqual({ call: false, final: true, reason: 'opted_out' })
    expect(decideCall(night, { callsBreakQuietHours: false }, now, 0, 10)).toEqual({ call: false, final: false, reason: 'quiet_hours' })
    expect(decideCall(night, { callsBreakQuietHours: true }, now, 0, 10)).toEqual({ call: true })
    expect(decideCall({ ...awake, pausedUntil: new Date(now.getTime() + 1) }, { callsBreakQuietHours: false }, now, 0, 10)).toMatchObject({ reason: 'paused' })
    expect(decideCall(awake, { callsBreakQuietHours: false }, now, 10, 10)).toEqual({ call: false, final: true, reason: 'daily_cap' })
    expect(decideCall(awake, { callsBreakQuietHours: false }, now, 9, 10)).toEqual({ call: true })
  })
})

describe('what a call says', () => {
  it('names the project and what Claude wants, with secrets redacted, and asks for a key', () => {
    const s = requestScript({ kind: 'permission', tool: 'Bash', summary: 'curl -H "Authorization: Bearer sk-ant-abcdefghijklmnopqrstuvwxyz" api', project: 'shop' })
    expect(fullScript(s)).toBe('This is Claude Code, project shop. Wants to run: curl -H "Authorization: Bearer redacted" api. Press 1 to allow, 2 to deny, 9 to hear it again.')
    expect(s.takesKeys).toBe(true)
  })

  it('a wait reads Claude\'s question and takes no key; anything long is clipped under 30 seconds', () => {
    const w = waitScript({ details: { message: `${'I looked at the schema. '.repeat(30)}Which database should I use?` }, project: null })
    expect(w.takesKeys).toBe(false)
    expect(fullScript(w)).toContain('Claude is waiting for you. Which database should I use?')
    const long = requestScript({ kind: 'permission', tool: 'Edit', summary: `/${'very-long-directory-name/'.repeat(40)}file.ts`, project: 'x' })
    expect(estimatedSeconds(fullScript(long))).toBeLessThan(30)
    expect(fullScript(long)).toContain(', and more.')
  })
})
