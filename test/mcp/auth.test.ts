import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApi } from '../../mcp/api.js'
import { createAuth, PAIRING_ENDED, PAIRING_EXPIRED } from '../../mcp/auth.js'
import { createMcpLogger } from '../../mcp/log.js'
import { readJson, storePaths, writeJsonAtomic, AuthFile } from '../../mcp/store.js'
import { useTestDatabase } from '../support/db.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { pairedUser } from '../support/users.js'

const db = useTestDatabase()
let server: TestServer
beforeAll(async () => {
  server = await startTestServer({ sql: db.sql, name: 'mcp-auth' })
})
afterAll(async () => {
  await server?.close()
})

const HOUR = 3_600_000

/** An auth.json as sms_pair left it `ageMs` ago, for a 36 h token. */
async function pairing(ageMs: number, extra: Partial<AuthFile> = {}) {
  const paths = storePaths(mkdtempSync(join(tmpdir(), 'mcp-auth-')))
  const { accessToken } = await pairedUser(db.sql, server.config)
  const pairedAt = new Date(Date.now() - ageMs)
  await writeJsonAtomic(paths.authFile, { server_url: server.url, access_token: accessToken, expires_at: new Date(pairedAt.getTime() + 36 * HOUR).toISOString(), phone: '+1***0000', paired_at: pairedAt.toISOString(), ...extra })
  const api = createApi()
  return { paths, accessToken, api, auth: createAuth({ paths, api, log: createMcpLogger('silent'), authUrl: server.url }) }
}

describe('the pairing on this computer', () => {
  it('is used as is while young', async () => {
    const { auth, accessToken } = await pairing(1 * HOUR)
    const fresh = await auth.fresh()
    expect(fresh.ok && fresh.auth.access_token).toBe(accessToken)
  })

  it('is refreshed on the server once past half its life, and the new token is kept', async () => {
    const { auth, accessToken, api } = await pairing(20 * HOUR)
    const fresh = await auth.fresh()
    expect(fresh.ok).toBe(true)
    if (!fresh.ok) return
    expect(fresh.auth.access_token).not.toBe(accessToken)
    expect(Date.parse(fresh.auth.expires_at)).toBeGreaterThan(Date.now() + 35 * HOUR)
    expect((await auth.load())?.access_token).toBe(fresh.auth.access_token)
    // The new token works on the server.
    await expect(api.startSession(server.url, fresh.auth.access_token, { claude_session_id: 'refreshed', description: 'after refresh' })).resolves.toMatchObject({ monitoring_id: expect.any(String) })
  })

  it('ends in "Your pairing expired. Run /sms-notifier:sms-setup." when the server refuses the token', async () => {
    const { auth, accessToken, api, paths } = await pairing(20 * HOUR)
    await api.logout(server.url, accessToken)
    expect(await auth.fresh()).toEqual({ ok: false, message: PAIRING_EXPIRED })
    expect(existsSync(paths.authFile)).toBe(false)
  })

  it('is not refreshed again once its token already ends with the pairing (a refresh could not extend it)', async () => {
    const expiresAt = new Date(Date.now() + 16 * HOUR).toISOString()
    const { auth, accessToken } = await pairing(20 * HOUR, { expires_at: expiresAt, pairing_expires_at: expiresAt })
    const fresh = await auth.fresh()
    expect(fresh.ok && fresh.auth.access_token).toBe(accessToken)
    const [row] = await db.sql`select rotated_at from access_tokens where jti = ${decodeJwt(accessToken).jti!}`
    expect(row!.rotated_at).toBeNull()
  })

  it('says the pairing reached its end, and to pair again, once it has', async () => {
    const ended = new Date(Date.now() - 1_000).toISOString()
    const { auth, paths } = await pairing(40 * HOUR, { expires_at: ended, pairing_expires_at: ended })
    expect(await auth.fresh()).toEqual({ ok: false, message: PAIRING_ENDED })
    expect(PAIRING_ENDED).toMatch(/Run \/sms-notifier:sms-setup to pair again/)
    expect(await readJson(paths.authFile, AuthFile)).toBeUndefined()
  })
})
