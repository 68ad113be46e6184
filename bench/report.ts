import type { Summary } from './stats.js'
import { round } from './stats.js'

/** One line of the results table. */
export interface Row {
  section: string
  metric: string
  unit: string
  value: Summary
  /** What the value is compared with, measured in the same run. */
  baseline?: { name: string; value: Summary }
  /** value.median / baseline.median (or an absolute figure when there is no baseline). */
  ratio?: number
  target?: string
  met?: boolean
  note?: string
}

export function ratioRow(row: Omit<Row, 'ratio'> & { baseline: NonNullable<Row['baseline']> }): Row {
  return { ...row, ratio: round(row.value.median / row.baseline.value.median, 2) }
}

export function formatTable(rows: Row[]): string {
  const header = ['metric', 'median (min–max)', 'baseline median', 'ratio', 'target', 'met', 'note']
  const lines = rows.map((r) => [
    `${r.section}: ${r.metric}`,
    `${round(r.value.median)} ${r.unit} (${round(r.value.min)}–${round(r.value.max)}, n=${r.value.n})`,
    r.baseline ? `${r.baseline.name} ${round(r.baseline.value.median)} ${r.unit}` : '',
    r.ratio !== undefined ? `${r.ratio}x` : '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
    r.note ?? '',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n')
}
