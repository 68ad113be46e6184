import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../server/db/embedded.js'
import { startTwilioEndpoint } from '../test/support/twilio-endpoint.js'
import { formatTable, type Row } from './report.js'
import { benchEmbeddedPostgres } from './sections/embedded-postgres.js'

// `npm run bench`: starts what it needs on 127.0.0.1 (PostgreSQL, the server, the Twilio-compatible
// endpoint), measures, stops everything, prints a table and writes bench/results.json. Every figure
// is compared with a baseline measured in this same run; the machine is noisy, so repeats and ratios.

const quick = process.argv.includes('--quick')
const log = (m: string) => process.stderr.write(`${m}\n`)

async function main() {
  const started = Date.now()
  const rows: Row[] = []
  const work = mkdtempSync(join(tmpdir(), 'claude-sms-bench-'))
  let embedded: EmbeddedDatabase | undefined
  const twilio = await startTwilioEndpoint()
  try {
    log('== embedded PostgreSQL start, cold and warm')
    rows.push(...(await benchEmbeddedPostgres({ repeats: quick ? 1 : 3, log })))

    let databaseUrl = process.env.DATABASE_URL
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: join(work, 'pg'), persistent: false })
      databaseUrl = embedded.url
    }
    void databaseUrl
  } finally {
    await twilio.close()
    await embedded?.stop()
    rmSync(work, { recursive: true, force: true })
  }

  const table = formatTable(rows)
  console.log(table)
  mkdirSync('bench', { recursive: true })
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
    duration_s: Math.round((Date.now() - started) / 1000),
    rows,
  }
  writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`)
  log(`bench finished in ${results.duration_s} s; results in bench/results.json`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
