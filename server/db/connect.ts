import { randomBytes, randomUUID } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
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

/**
 * This process among every server process on the database. Each connection announces it as its
 * application_name, so pg_stat_activity tells whether a process that started handling an event is
 * still connected (server/monitoring/events.ts reclaimEvent).
 */
export const PROCESS_NAME = `claude-sms-notifier/${randomUUID()}`

export function createSql(url: string, opts: { max?: number } = {}): Sql {
  return postgres(url, {
    connection: { application_name: PROCESS_NAME },
    max: opts.max ?? 10,
    connect_timeout: 5,
    idle_timeout: 60,
    onnotice: () => {},
    transform: { undefined: null },
  })
}

/**
 * The embedded PostgreSQL listens on 127.0.0.1, where any local user can connect: its password is
 * random, made once per data directory and kept in DATA_DIR/pg-password (0600) beside jwt-secret.
 * A data directory made before that has the old fixed password "postgres": `replace` says so.
 */
function embeddedPassword(dataDir: string, pgDir: string): { current: string; replace?: string } {
  const file = join(dataDir, 'pg-password')
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim()
    if (kept) return { current: kept }
  }
  mkdirSync(dataDir, { recursive: true })
  const fresh = randomBytes(24).toString('base64url')
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${fresh}\n`, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  if (!existsSync(join(pgDir, 'PG_VERSION'))) {
    renameSync(tmp, file)
    return { current: fresh }
  }
  return { current: 'postgres', replace: tmp }
}

/** Sets the password kept in the temp file `pending`, then makes that file DATA_DIR/pg-password. */
async function replacePassword(db: EmbeddedDatabase, pending: string): Promise<EmbeddedDatabase> {
  const password = readFileSync(pending, 'utf8').trim()
  const admin = createSql(db.url, { max: 1 })
  try {
    await admin.unsafe(`alter role postgres password '${password}'`) // base64url: nothing to escape
  } finally {
    await admin.end({ timeout: 5 })
  }
  renameSync(pending, pending.replace(/\.\d+\.tmp$/, ''))
  return { ...db, url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${db.port}/postgres` }
}

/**
 * DATABASE_URL set: use that PostgreSQL (Neon or any other) and start nothing. Unset: start an embedded
 * PostgreSQL with its data in DATA_DIR/pg, recovering from a previous run that was killed.
 */
export async function connectDatabase(opts: { databaseUrl: string | undefined; dataDir: string; embeddedHome?: string; log: Logger }): Promise<Database> {
  const { log } = opts
  let embedded: EmbeddedDatabase | undefined
  let url = opts.databaseUrl
  if (!url) {
    const dataDir = join(opts.dataDir, 'pg')
    log.info({ dataDir }, 'DATABASE_URL is not set: starting the embedded PostgreSQL')
    const started = Date.now()
    const password = embeddedPassword(opts.dataDir, dataDir)
    embedded = await startEmbeddedPostgres({
      dataDir,
      persistent: true,
      password: password.current,
      home: opts.embeddedHome,
      onLog: (m) => log.debug({ postgres: String(m).trim() }, 'embedded postgres'),
    })
    if (password.replace) {
      embedded = await replacePassword(embedded, password.replace)
      log.warn('the embedded PostgreSQL had the well-known password "postgres": replaced it with a random one kept in DATA_DIR/pg-password')
    }
    if (embedded.relocated) log.info({ home: embedded.relocated.home, cluster: embedded.dataDir }, 'the postgres user cannot reach this folder (a 0700 home directory?): the embedded PostgreSQL runs from EMBEDDED_PG_HOME, and DATA_DIR/pg links to its cluster')
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
