import { describe, expect, it } from 'vitest'
import { segmentInfo } from '../../server/sms/segments.js'

describe('segment counting, which is what a text costs', () => {
  it('counts plain GSM-7 text at 160 per single segment and 153 per part after that', () => {
    expect(segmentInfo('a'.repeat(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1 })
    expect(segmentInfo('a'.repeat(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2 })
    expect(segmentInfo('a'.repeat(306)).segments).toBe(2)
    expect(segmentInfo('a'.repeat(307)).segments).toBe(3)
  })

  it('counts extension characters such as { and € as two septets', () => {
    expect(segmentInfo('{}€'.repeat(53) + 'a')).toMatchObject({ encoding: 'GSM-7', units: 319, segments: 3 })
  })

  it('switches to UCS-2 for emoji: 70 units in one segment, 67 per part', () => {
    expect(segmentInfo('⚠️ Claude')).toMatchObject({ encoding: 'UCS-2' })
    expect(segmentInfo('é'.repeat(10) + '✅').encoding).toBe('UCS-2')
    expect(segmentInfo('✅'.repeat(70)).segments).toBe(1)
    expect(segmentInfo('✅'.repeat(71)).segments).toBe(2)
    expect(segmentInfo('😀'.repeat(35)).segments).toBe(1) // surrogate pairs count twice
    expect(segmentInfo('😀'.repeat(36)).segments).toBe(2)
  })
})
