/**
 * Wall-clock times in the user's time zone for <input type="datetime-local">, which has no zone:
 * "2026-11-25T18:30" shown and read in the zone of the user's settings.
 */

const parts = new Map<string, Intl.DateTimeFormat>()
function formatter(zone: string): Intl.DateTimeFormat {
  let f = parts.get(zone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
    parts.set(zone, f)
  }
  return f
}

function wallFields(at: Date, zone: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of formatter(zone).formatToParts(at)) if (p.type !== 'literal') out[p.type] = Number(p.value)
  return out
}

/** "2026-11-25T18:30", the value of a datetime-local input showing `at` in `zone`. */
export function toWallTime(at: Date, zone: string): string {
  const f = wallFields(at, zone)
  const pad = (n: number | undefined, w = 2) => String(n ?? 0).padStart(w, '0')
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad((f.hour ?? 0) % 24)}:${pad(f.minute)}`
}

/** The instant a wall time in `zone` names (the earlier one when a daylight-saving change repeats it). */
export function fromWallTime(wall: string, zone: string): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(wall)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number]
  const asUtc = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC rolls 30 February over into March: such a wall time does not exist.
  const check = new Date(asUtc)
  if (Number.isNaN(asUtc) || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || check.getUTCHours() !== hour) return undefined
  // The zone's offset at the guessed instant, applied twice to settle across an offset change.
  let guess = asUtc
  for (let i = 0; i < 2; i++) {
    const f = wallFields(new Date(guess), zone)
    const shownAsUtc = Date.UTC(f.year!, f.month! - 1, f.day!, f.hour! % 24, f.minute!, f.second!)
    guess += asUtc - shownAsUtc
  }
  return new Date(guess)
}
