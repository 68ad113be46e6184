import { describe, expect, it } from 'vitest'
import { escapeHtml, html, trusted } from '../../server/dashboard/html.js'
import { fromWallTime, toWallTime } from '../../server/dashboard/zoned-time.js'
import { formatDuration, formatUsd } from '../../server/dashboard/format.js'
import { sessionStatus } from '../../server/dashboard/session-status.js'
import { describeDeliveryError } from '../../server/sms/delivery-errors.js'

describe('the HTML template helper', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const evil = `<script>alert(1)</script>"'\`&`
    const out = html`<p title="${evil}">${evil}</p>`.value
    expect(out).toBe('<p title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&#96;&amp;">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&#96;&amp;</p>')
    expect(escapeHtml('a < b')).toBe('a &lt; b')
  })

  it('keeps nested templates and arrays of them as markup, and drops null, undefined and false', () => {
    const items = ['<a>', 'b'].map((x) => html`<li>${x}</li>`)
    expect(html`<ul>${items}${null}${undefined}${false}</ul>`.value).toBe('<ul><li>&lt;a&gt;</li><li>b</li></ul>')
    expect(html`${trusted('<b>ok</b>')}`.value).toBe('<b>ok</b>')
  })
})

describe('dashboard display rules', () => {
  it('reads and writes datetime-local values in the user’s time zone', () => {
    const at = new Date('2026-07-01T16:30:00Z')
    expect(toWallTime(at, 'America/New_York')).toBe('2026-07-01T12:30')
    expect(fromWallTime('2026-07-01T12:30', 'America/New_York')?.toISOString()).toBe(at.toISOString())
    expect(fromWallTime('2026-01-10T09:00', 'Asia/Tokyo')?.toISOString()).toBe('2026-01-10T00:00:00.000Z')
    expect(fromWallTime('tomorrow', 'UTC')).toBeUndefined()
    expect(fromWallTime('2026-02-30T09:00', 'UTC')).toBeUndefined()
    expect(fromWallTime('2026-03-01T24:00', 'UTC')).toBeUndefined()
  })

  it('says how long things took and what they cost', () => {
    expect(formatDuration(42_000)).toBe('42 s')
    expect(formatDuration(12 * 60_000)).toBe('12 min')
    expect(formatDuration(125 * 60_000)).toBe('2 h 5 min')
    expect(formatUsd(3 * 0.0083)).toBe('$0.0249')
    expect(formatUsd(12.5)).toBe('$12.50')
  })

  it('calls an active session whose newest event is "waiting" waiting, until the user is active again', () => {
    const waitingAt = new Date('2026-01-01T12:00:00Z')
    expect(sessionStatus({ status: 'active', lastEventType: 'waiting', lastEventAt: waitingAt, lastActivityAt: null })).toBe('waiting')
    expect(sessionStatus({ status: 'active', lastEventType: 'waiting', lastEventAt: waitingAt, lastActivityAt: new Date('2026-01-01T12:01:00Z') })).toBe('live')
    expect(sessionStatus({ status: 'active', lastEventType: 'error', lastEventAt: waitingAt, lastActivityAt: null })).toBe('live')
    expect(sessionStatus({ status: 'stale', lastEventType: 'waiting', lastEventAt: waitingAt, lastActivityAt: null })).toBe('stale')
    expect(sessionStatus({ status: 'stopped', lastEventType: null, lastEventAt: null, lastActivityAt: null })).toBe('ended')
  })

  it('explains Twilio delivery errors in words', () => {
    expect(describeDeliveryError(21610)).toBe('the number replied STOP (error 21610)')
    expect(describeDeliveryError(30003)).toBe('phone off or out of coverage (error 30003)')
    expect(describeDeliveryError(30007)).toBe('filtered by the carrier (error 30007)')
    expect(describeDeliveryError(39999, 'Something odd')).toBe('Something odd (error 39999)')
    expect(describeDeliveryError(null, null)).toBeNull()
  })
})
