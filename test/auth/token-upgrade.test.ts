import { randomUUID } from 'node:crypto'
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SignJWT } from 'jose'
import type { Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAccessTokens } from '../../server/auth/access-tokens.js'
import { manualClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { migrate } from '../../server/db/migrate.js'
import { findOrCreateUser } from '../../server/users.js'
import { createEmptyDatabase } from '../support/db.js'
import { recordSecret } from '../support/secrets.js'
import { TEST_JWT_SECRET } from '../support/server.js'
import { testPhone } from '../support/users.js'

/** A server upgraded to token families: tokens it issued before keep working, and logout still ends them. */
let db: Awaited<ReturnType<typeof createEmptyDatabase>>
let sql: Sql
beforeAll(async () => {
  db = await createEmptyDatabase()
  sql = createSql(db.url, { max: 2 })
})
afterAll(async () => {
  await sql?.end({ timeout: 5 })
  await db?.drop()
})

const clock = manualClock(new Date('2026-05-01T08:00:00Z'))
const MIGRATIONS = fileURLToPath(new URL('../../server/migrations', import.meta.url))

/** A token as the server issued it before 0007: a JWT and its row, no family. */
async function tokenFromBefore(userId: string, revoked = false) {
  const jti = randomUUID()
  const iat = Math.floor(clock.now().getTime() / 1000)
  await sql`insert into access_tokens (jti, user_id, issued_at, expires_at, revoked_at)
            values (${jti}, ${userId}, ${new Date(iat * 1000)}, ${new Date((iat + 129_600) * 1000)}, ${revoked ? clock.now() : null})`
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer('claude-sms-notifier')
    .setAudience('claude-sms-notifier/api')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 129_600)
    .setJti(jti)
    .sign(new TextEncoder().encode(TEST_JWT_SECRET))
  recordSecret('token', token)
  return token
}

describe('upgrading to token families (0007_token_families.sql)', () => {
  it('a token issued before keeps working, refreshes into its own family, and logout ends both; a revoked one stays revoked', async () => {
    const before = mkdtempSync(join(tmpdir(), 'migrations-before-'))
    for (const file of readdirSync(MIGRATIONS).filter((f) => f < '0007')) copyFileSync(join(MIGRATIONS, file), join(before, file))
    await migrate(sql, before)
    const user = await findOrCreateUser(sql, testPhone(), 'pepper')
    const live = await tokenFromBefore(user.id)
    const revoked = await tokenFromBefore(user.id, true)

    expect(await migrate(sql)).toContain('0007_token_families.sql')
    const tokens = createAccessTokens({ sql, secret: TEST_JWT_SECRET, clock })
    const verified = await tokens.verify(live)
    expect(verified.id).toBe(user.id)
    await expect(tokens.verify(revoked)).rejects.toMatchObject({ status: 401, code: 'unauthorized' })

    const { issued } = await tokens.refresh(live)
    recordSecret('token', issued.accessToken)
    expect(issued.familyId).toBe(verified.familyId)
    // Families made by the upgrade end 30 days after their token was issued.
    expect(issued.familyExpiresAt.toISOString()).toBe('2026-05-31T08:00:00.000Z')

    await tokens.revokeFamily(verified.familyId, 'logout')
    await expect(tokens.verify(live)).rejects.toMatchObject({ status: 401 })
    await expect(tokens.verify(issued.accessToken)).rejects.toMatchObject({ status: 401 })
  })
})
