import { describe, expect, it } from 'vitest'
import { DEFAULT_PAUSE_MS, parseInboundCommand } from '../../server/sms/inbound-commands.js'
import { classifyFailure, decide, rateLimitedUntil, RATE_LIMIT_WINDOW_MS } from '../../server/sms/policy.js'

const now = new Date('2026-03-01T12:00:00Z')
const open = { optedOutAt: null, pausedUntil: null, wentDarkAlerts: true }

describe('should this event become a text?', () => {
  it('yes for a subscribed user who has not paused', () => {
    expect(decide('error', open, now)).toEqual({ text: true })
  })
  it('never after STOP', () => {
    expect(decide('error', { ...open, optedOutAt: now }, now)).toEqual({ text: false, reason: 'opted_out' })
  })
  it('held while paused, and texted again once the pause is over', () => {
    const until = new Date(now.getTime() + 60_000)
    expect(decide('done', { ...open, pausedUntil: until }, now)).toEqual({ text: false, reason: 'paused', until })
    expect(decide('done', { ...open, pausedUntil: until }, new Date(until.getTime() + 1))).toEqual({ text: true })
  })
  it('went-dark texts follow their setting; the other types do not', () => {
    expect(decide('went_dark', { ...open, wentDarkAlerts: false }, now)).toEqual({ text: false, reason: 'disabled' })
    expect(decide('error', { ...open, wentDarkAlerts: false }, now)).toEqual({ text: true })
  })
  it('a limited event learns when the next text may go out', () => {
    const last = new Date(now.getTime() - 10 * 60_000)
    const r = rateLimitedUntil(last, now)
    expect(r.nextAllowedAt.getTime()).toBe(last.getTime() + RATE_LIMIT_WINDOW_MS)
    expect(r.retryAfterSeconds).toBe(20 * 60)
  })
})

describe('provider failures', () => {
  it('21610 and 30004 mean the user opted out; invalid numbers are undeliverable; 429/5xx retry later', () => {
    expect(classifyFailure(21610, true)).toBe('opted_out')
    expect(classifyFailure(30004, false)).toBe('opted_out')
    for (const code of [21211, 21614, 21408, 21612]) expect(classifyFailure(code, true)).toBe('undeliverable')
    expect(classifyFailure(20429, false)).toBe('retry_later')
    expect(classifyFailure(undefined, false)).toBe('retry_later')
  })
})

describe('replies from the phone', () => {
  it.each(['STOP', 'stop', ' Stop. ', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT'])('%s opts out', (body) => {
    expect(parseInboundCommand(body)).toEqual({ kind: 'stop' })
  })
  it.each(['START', 'yes', 'UNSTOP'])('%s opts back in', (body) => {
    expect(parseInboundCommand(body)).toEqual({ kind: 'start' })
  })
  it('stop inside a sentence is not an opt-out (Twilio matches the whole message)', () => {
    expect(parseInboundCommand('please stop the build')).toEqual({ kind: 'unknown' })
  })
  it('PAUSE takes minutes, hours or days', () => {
    expect(parseInboundCommand('PAUSE 2h')).toEqual({ kind: 'pause', ms: 2 * 3_600_000 })
    expect(parseInboundCommand('pause 30m')).toEqual({ kind: 'pause', ms: 30 * 60_000 })
    expect(parseInboundCommand('Pause 1d')).toEqual({ kind: 'pause', ms: 86_400_000 })
    expect(parseInboundCommand('PAUSE 90 minutes')).toEqual({ kind: 'pause', ms: 90 * 60_000 })
    expect(parseInboundCommand('PAUSE')).toEqual({ kind: 'pause', ms: DEFAULT_PAUSE_MS })
    expect(parseInboundCommand('PAUSE forever')).toEqual({ kind: 'bad_pause' })
    expect(parseInboundCommand('PAUSE 30d')).toEqual({ kind: 'bad_pause' })
  })
  it('STATUS, RESUME and HELP', () => {
    expect(parseInboundCommand('status')).toEqual({ kind: 'status' })
    expect(parseInboundCommand('RESUME')).toEqual({ kind: 'resume' })
    expect(parseInboundCommand('help')).toEqual({ kind: 'help' })
  })
})
