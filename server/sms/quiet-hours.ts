/**
 * Quiet hours: a daily window, in the user's own time zone, during which texts are held and then sent
 * as one summary when the window ends. Pure: the clock and the settings are passed in.
 */

export interface QuietHours {
  /** "22:00": local wall-clock time the window opens. */
  start: string
  /** "07:30": local time it closes; earlier than start means the window runs over midnight. */
  end: string
  /** IANA zone, e.g. "Europe/Paris". */
  timeZone: string
  /** "waiting" texts (Claude is blocked on the user) still go out during the window. */
  allowWaiting: boolean
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/

export function parseHhmm(value: string): number | undefined {
  const m = HHMM.exec(value)
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined
}

export function isValidTimeZone(zone: string): boolean {
  if (!zone || zone.length > 64) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>()
function formatterFor(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    formatters.set(zone, f)
  }
  return f
}

/** Seconds since local midnight in `zone` at `at`. */
function localSecondOfDay(at: Date, zone: string): number {
  let h = 0
  let m = 0
  let s = 0
  for (const part of formatterFor(zone).formatToParts(at)) {
    if (part.type === 'hour') h = Number(part.value) % 24
    else if (part.type === 'minute') m = Number(part.value)
    else if (part.type === 'second') s = Number(part.value)
  }
  return h * 3600 + m * 60 + s
}

function inWindow(secondOfDay: number, start: number, end: number): boolean {
  const minute = Math.floor(secondOfDay / 60)
  return start < end ? minute >= start && minute < end : minute >= start || minute < end
}

/**
 * When quiet hours are in force at `now`, the instant they end; otherwise null. A window whose start
 * equals its end is empty. Across a daylight-saving change the end is found on the local clock, so
 * "07:00" stays 07:00 local.
 */
export function quietHoursEnd(q: QuietHours, now: Date): Date | null {
  const start = parseHhmm(q.start)
  const end = parseHhmm(q.end)
  if (start === undefined || end === undefined || start === end || !isValidTimeZone(q.timeZone)) return null
  const local = localSecondOfDay(now, q.timeZone)
  if (!inWindow(local, start, end)) return null
  let wait = end * 60 - local
  if (wait <= 0) wait += 86_400
  let candidate = new Date(now.getTime() + wait * 1000)
  // A daylight-saving shift inside the wait moves the local clock by up to an hour: correct once.
  const drift = end * 60 - localSecondOfDay(candidate, q.timeZone)
  if (drift !== 0 && Math.abs(drift) <= 7_200) candidate = new Date(candidate.getTime() + drift * 1000)
  return candidate
}

/** Whether an alert of this type is held at `now`: inside the window, unless it is a "waiting" let through. */
export function heldByQuietHours(q: QuietHours | null, type: string, now: Date): Date | null {
  if (!q) return null
  if (type === 'waiting' && q.allowWaiting) return null
  return quietHoursEnd(q, now)
}
