/** How the dashboard writes times, durations and money. Pure; the time zone is the user's setting. */

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>()
function dateTimeFormat(zone: string, withDate: boolean): Intl.DateTimeFormat {
  const key = `${zone}|${withDate}`
  let f = dateTimeFormats.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      ...(withDate ? { day: 'numeric', month: 'short' } : {}),
    })
    dateTimeFormats.set(key, f)
  }
  return f
}

function dayKey(at: Date, zone: string): string {
  return at.toLocaleDateString('en-CA', { timeZone: zone })
}

/** "14:05" today, "3 Nov, 14:05" on another day (in the user's zone). */
export function formatTime(at: Date, zone: string, now: Date): string {
  return dateTimeFormat(zone, dayKey(at, zone) !== dayKey(now, zone)).format(at)
}

/** "45 s", "12 min", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`
}

/** "3 min ago", "just now". */
export function formatAgo(at: Date, now: Date): string {
  const ms = now.getTime() - at.getTime()
  if (ms < 45_000) return 'just now'
  return `${formatDuration(ms)} ago`
}

/** "$0.0249": costs per segment are fractions of a cent, so up to four decimals. */
export function formatUsd(amount: number): string {
  return `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 1 ? 4 : 2)}`
}
