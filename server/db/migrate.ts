import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Sql } from 'postgres'

/**
 * Applies the numbered .sql files (0001_init.sql, 0002_...) not applied yet, all in one transaction
 * under a transaction-level advisory lock: servers starting together on an empty database apply the
 * schema once, and a failing file rolls the whole batch back. Returns the files applied.
 */
export async function migrate(sql: Sql, dir = resolveMigrationsDir()): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort()
  return sql.begin(async (tx) => {
    // Any constant works as long as every process of this app uses the same one; released at COMMIT.
    await tx`select pg_advisory_xact_lock(7245100001)`
    await tx`create table if not exists schema_migrations (version text primary key, applied_at timestamptz not null default now())`
    const done = new Set((await tx<{ version: string }[]>`select version from schema_migrations`).map((r) => r.version))
    const applied: string[] = []
    for (const file of files.filter((f) => !done.has(f))) {
      await tx.unsafe(readFileSync(join(dir, file), 'utf8'))
      await tx`insert into schema_migrations (version) values (${file})`
      applied.push(file)
    }
    return applied
  })
}

function resolveMigrationsDir(): string {
  // Works from server/db/*.ts (vitest) and from build/server/db/*.js (npm start).
  const here = dirname(fileURLToPath(import.meta.url))
  const parts = here.split('/')
  const buildIndex = parts.lastIndexOf('build')
  const root = buildIndex >= 0 && parts[buildIndex + 1] === 'server' ? parts.slice(0, buildIndex).join('/') : join(here, '..', '..')
  return join(root, 'server', 'migrations')
}
