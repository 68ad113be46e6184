import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { migrate } from '../../server/db/migrate.js'
import { createEmptyDatabase } from '../support/db.js'

let db: Awaited<ReturnType<typeof createEmptyDatabase>>
beforeAll(async () => {
  db = await createEmptyDatabase()
})
afterAll(() => db.drop())

function migrationsDir(files: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'))
  for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body)
  return dir
}

describe('migrations', () => {
  it('apply once when eight pools race on an empty database, and again is a no-op', async () => {
    const pools = Array.from({ length: 8 }, () => createSql(db.url, { max: 2 }))
    try {
      const results = await Promise.all(pools.map((sql) => migrate(sql)))
      const appliedBy = results.filter((r) => r.length > 0)
      expect(appliedBy).toHaveLength(1)
      expect(appliedBy[0]![0]).toBe('0001_init.sql')
      expect(await migrate(pools[0]!)).toEqual([])
    } finally {
      await Promise.all(pools.map((p) => p.end()))
    }
  })

  it('roll the whole batch back when one file fails', async () => {
    const sql = createSql(db.url, { max: 1 })
    try {
      const dir = migrationsDir({ '9001_ok.sql': 'create table batch_ok (id int);', '9002_bad.sql': 'select 1/0;' })
      await expect(migrate(sql, dir)).rejects.toThrow(/division by zero/)
      const [row] = await sql`select to_regclass('batch_ok') as t`
      expect(row!.t).toBeNull()
      const applied = await sql`select version from schema_migrations where version like '900%'`
      expect(applied).toHaveLength(0)
    } finally {
      await sql.end()
    }
  })
})
