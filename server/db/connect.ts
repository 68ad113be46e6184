import { join } from 'node:path'
import postgres, { type Sql } from 'postgres'
import type { Logger } from '../log.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.js'

export interface Database {
  sql: Sql
  /** Set when this process started its own embedded PostgreSQL (DATABASE_URL unset). */
  embedded: EmbeddedDatabase | undefined
  close(): Promise<void>
}

export function createSql(url: string, opts: { max?: number } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 10,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    transform: { undefined: null },
  })
}

/**
 * DATABASE_URL set: use that PostgreSQL (Neon or any other) and start nothing. Unset: start an embedded
 * PostgreSQL with its data in DATA_DIR/pg, recovering from a previous run that was killed.
 */
export async function connectDatabase(opts: { databaseUrl: string | undefined; dataDir: string; log: Logger }): Promise<Database> {
  const { log } = opts
  let embedded: EmbeddedDatabase | undefined
  let url = opts.databaseUrl
  if (!url) {
    const dataDir = join(opts.dataDir, 'pg')
    log.info({ dataDir }, 'DATABASE_URL is not set: starting the embedded PostgreSQL')
    const started = Date.now()
    embedded = await startEmbeddedPostgres({
      dataDir,
      persistent: true,
      onLog: (m) => log.debug({ postgres: String(m).trim() }, 'embedded postgres'),
    })
    if (embedded.stalePid) log.warn({ pid: embedded.stalePid }, 'stopped a PostgreSQL left running by an earlier run that was killed')
    log.info(
      { port: embedded.port, dataDir, initialised: embedded.initialised, ms: Date.now() - started },
      'embedded PostgreSQL is running (set DATABASE_URL to use your own PostgreSQL instead)',
    )
    url = embedded.url
  }
  const sql = createSql(url)
  return {
    sql,
    embedded,
    async close() {
      await sql.end({ timeout: 5 })
      await embedded?.stop()
    },
  }
}
