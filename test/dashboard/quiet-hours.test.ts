import { describe, expect, it } from 'vitest'
import { heldByQuietHours, quietHoursEnd, type QuietHours } from '../../server/sms/quiet-hours.js'

const night: QuietHours = { start: '22:00', end: '07:00', timeZone: 'Europe/Paris', allowWaiting: false }

describe('quiet hours', () => {
  it('hold texts inside a window that runs over midnight, in the user’s own time zone', () => {
    // 23:30 in Paris (UTC+1 in winter) is 22:30 UTC
    expect(quietHoursEnd(night, new Date('2026-01-15T22:30:00Z'))?.toISOString()).toBe('2026-01-16T06:00:00.000Z')
    // 06:59 Paris: still quiet, ends a minute later
    expect(quietHoursEnd(night, new Date('2026-01-16T05:59:00Z'))?.toISOString()).toBe('2026-01-16T06:00:00.000Z')
  })

  it('let texts through outside the window, at its exact end, and just before its start', () => {
    expect(quietHoursEnd(night, new Date('2026-01-16T06:00:00Z'))).toBeNull() // 07:00 Paris
    expect(quietHoursEnd(night, new Date('2026-01-16T12:00:00Z'))).toBeNull() // 13:00 Paris
    expect(quietHoursEnd(night, new Date('2026-01-16T20:59:59Z'))).toBeNull() // 21:59:59 Paris
    expect(quietHoursEnd(night, new Date('2026-01-16T21:00:00Z'))).not.toBeNull() // 22:00 Paris
  })

  it('work for a window inside one day', () => {
    const lunch: QuietHours = { start: '12:00', end: '13:30', timeZone: 'UTC', allowWaiting: false }
    expect(quietHoursEnd(lunch, new Date('2026-03-01T12:45:10Z'))?.toISOString()).toBe('2026-03-01T13:30:00.000Z')
    expect(quietHoursEnd(lunch, new Date('2026-03-01T13:30:00Z'))).toBeNull()
    expect(quietHoursEnd(lunch, new Date('2026-03-01T11:59:00Z'))).toBeNull()
  })

  it('end at 07:00 local time across a daylight-saving change', () => {
    // Night of 28-29 March 2026: Paris moves from UTC+1 to UTC+2 at 02:00 local.
    const end = quietHoursEnd(night, new Date('2026-03-28T22:00:00Z')) // 23:00 Paris, winter time
    expect(end?.toISOString()).toBe('2026-03-29T05:00:00.000Z') // 07:00 Paris, summer time
  })

  it('treat an empty window or an unknown zone as no quiet hours', () => {
    expect(quietHoursEnd({ ...night, start: '07:00', end: '07:00' }, new Date('2026-01-16T06:30:00Z'))).toBeNull()
    expect(quietHoursEnd({ ...night, timeZone: 'Mars/Olympus' }, new Date('2026-01-15T22:30:00Z'))).toBeNull()
  })

  it('let "waiting" through when the user asked for it, and only "waiting"', () => {
    const now = new Date('2026-01-15T22:30:00Z')
    expect(heldByQuietHours({ ...night, allowWaiting: true }, 'waiting', now)).toBeNull()
    expect(heldByQuietHours({ ...night, allowWaiting: true }, 'error', now)).not.toBeNull()
    expect(heldByQuietHours(night, 'waiting', now)).not.toBeNull()
    expect(heldByQuietHours(null, 'error', now)).toBeNull()
  })
})
