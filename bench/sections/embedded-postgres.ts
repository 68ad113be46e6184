import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres } from '../../server/db/embedded.js'
import type { Row } from '../report.js'
import { summarize } from '../stats.js'

/** Embedded PostgreSQL start: cold (initdb on an empty directory, first `npm start`) and warm (restart). */
export async function benchEmbeddedPostgres(opts: { repeats: number; log: (m: string) => void }): Promise<Row[]> {
  const cold: number[] = []
  const warm: number[] = []
  for (let i = 0; i < opts.repeats; i++) {
    const base = mkdtempSync(join(tmpdir(), 'bench-pg-'))
    const dataDir = join(base, 'pg')
    try {
      let t = performance.now()
      const first = await startEmbeddedPostgres({ dataDir, persistent: true })
      cold.push(performance.now() - t)
      await first.stop()
      t = performance.now()
      const second = await startEmbeddedPostgres({ dataDir, persistent: true })
      warm.push(performance.now() - t)
      await second.stop()
      opts.log(`  embedded PostgreSQL run ${i + 1}: cold ${Math.round(cold.at(-1)!)} ms, warm ${Math.round(warm.at(-1)!)} ms`)
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  }
  const warmSummary = summarize(warm)
  return [
    { section: 'embedded PostgreSQL', metric: 'start, cold (initdb + start)', unit: 'ms', value: summarize(cold), baseline: { name: 'warm start', value: warmSummary }, ratio: Math.round((summarize(cold).median / warmSummary.median) * 10) / 10 },
    { section: 'embedded PostgreSQL', metric: 'start, warm (existing data)', unit: 'ms', value: warmSummary },
  ]
}
