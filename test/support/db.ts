import { randomBytes } from 'node:crypto'
import type { Sql } from 'postgres'
import { afterAll, beforeAll, inject } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { migrate } from '../../server/db/migrate.js'

export interface TestDatabase {
  sql: Sql
  url: string
  name: string
}

/** Creates an empty database on the run's PostgreSQL (created from template0, no migrations). */
export async function createEmptyDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const baseUrl = inject('databaseUrl')
  const name = `test_${randomBytes(6).toString('hex')}`
  const admin = createSql(baseUrl, { max: 1 })
  await admin.unsafe(`create database "${name}"`)
  const u = new URL(baseUrl)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    name,
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end()
    },
  }
}

/** A migrated database of this test file's own, dropped after the file. */
export function useTestDatabase(opts: { migrate?: boolean } = {}): TestDatabase {
  const ctx = {} as TestDatabase
  let drop: (() => Promise<void>) | undefined
  beforeAll(async () => {
    const db = await createEmptyDatabase()
    drop = db.drop
    ctx.url = db.url
    ctx.name = db.name
    ctx.sql = createSql(db.url)
    if (opts.migrate !== false) await migrate(ctx.sql)
  })
  afterAll(async () => {
    await ctx.sql?.end({ timeout: 5 })
    await drop?.()
  })
  return ctx
}
