import { describe, expect, it } from 'vitest'
import { decide, type RecipientState } from '../../server/sms/policy.js'

const open: RecipientState = { optedOutAt: null, pausedUntil: null, wentDarkAlerts: true }
const quiet = { start: '22:00', end: '07:00', timeZone: 'UTC', allowWaiting: false }
const night = new Date('2026-05-04T23:15:00Z')
const day = new Date('2026-05-05T12:00:00Z')

describe('the dashboard settings in the texting policy', () => {
  it('holds every kind of alert during quiet hours, until they end', () => {
    for (const type of ['error', 'done', 'waiting', 'went_dark'] as const) {
      expect(decide(type, { ...open, quietHours: quiet }, night)).toEqual({ text: false, reason: 'quiet_hours', until: new Date('2026-05-05T07:00:00Z') })
    }
    expect(decide('error', { ...open, quietHours: quiet }, day)).toEqual({ text: true })
  })

  it('lets "waiting" through when the user chose so', () => {
    expect(decide('waiting', { ...open, quietHours: { ...quiet, allowWaiting: true } }, night)).toEqual({ text: true })
  })

  it('ranks opt-out and a pause before quiet hours', () => {
    expect(decide('error', { ...open, optedOutAt: day, quietHours: quiet }, night)).toEqual({ text: false, reason: 'opted_out' })
    const until = new Date('2026-05-06T00:00:00Z')
    expect(decide('error', { ...open, pausedUntil: until, quietHours: quiet }, night)).toEqual({ text: false, reason: 'paused', until })
  })

  it('skips a "done" for a turn shorter than the threshold, but not a session end or other alerts', () => {
    const r = { ...open, doneThresholdMs: 15 * 60_000 }
    expect(decide('done', r, day, { turn_duration_ms: 14 * 60_000 })).toEqual({ text: false, reason: 'below_threshold' })
    expect(decide('done', r, day, { turn_duration_ms: 15 * 60_000 })).toEqual({ text: true })
    expect(decide('done', r, day, { reason: 'prompt_input_exit' })).toEqual({ text: true })
    expect(decide('error', r, day, { turn_duration_ms: 1 })).toEqual({ text: true })
    expect(decide('done', { ...open, doneThresholdMs: 0 }, day, { turn_duration_ms: 1 })).toEqual({ text: true })
  })
})
