/** Summaries of repeated measurements: these machines are noisy, so every figure is min/median/max. */
export interface Summary {
  n: number
  min: number
  median: number
  max: number
  p50: number
  p99: number
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    median: percentile(sorted, 50),
    max: sorted.at(-1) ?? NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  }
}

export const round = (x: number, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x)
