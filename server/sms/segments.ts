// GSM 03.38 default alphabet and its extension table (each extension character costs two septets).
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà'
const GSM_EXTENDED = '^{}\\[~]|€\f'
const basic = new Set(GSM_BASIC)
const extended = new Set(GSM_EXTENDED)

export type Encoding = 'GSM-7' | 'UCS-2'

export interface SegmentInfo {
  encoding: Encoding
  /** septets for GSM-7, UTF-16 code units for UCS-2 */
  units: number
  segments: number
}

export function isGsm7(text: string): boolean {
  for (const ch of text) if (!basic.has(ch) && !extended.has(ch)) return false
  return true
}

/** How a carrier will split this body: 160/153 septets per segment in GSM-7, 70/67 UTF-16 units in UCS-2. */
export function segmentInfo(text: string): SegmentInfo {
  if (isGsm7(text)) {
    let units = 0
    for (const ch of text) units += extended.has(ch) ? 2 : 1
    return { encoding: 'GSM-7', units, segments: units === 0 ? 1 : units <= 160 ? 1 : Math.ceil(units / 153) }
  }
  const units = text.length
  return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : Math.ceil(units / 67) }
}
