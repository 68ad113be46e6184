import { SignJWT, decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { ErrorBody, LogoutResponse, RefreshResponse } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { pairRemotely, postJson } from '../support/pairing.js'
import { TEST_JWT_SECRET, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'auth-tokens' }))

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const refresh = (token: string) => postJson(`${server.url}/auth/refresh`, {}, bearer(token))
const logout = (token: string) => postJson(`${server.url}/auth/logout`, {}, bearer(token))

async function expect401(res: Response, error = 'unauthorized') {
  expect(res.status).toBe(401)
  expect(ErrorBody.parse(await res.json()).error).toBe(error)
}

describe('refresh', () => {
  it('issues a fresh 36-hour token for the same person', async () => {
    const { accessToken } = await pairRemotely(server.url, twilio, testPhone(), { 'x-forwarded-for': '192.0.2.1' })
    clock.advance(30 * 3_600_000)
    const res = await refresh(accessToken)
    expect(res.status).toBe(200)
    const body = RefreshResponse.parse(await res.json())
    expect(body.token_type).toBe('Bearer')
    expect(body.expires_in).toBe(129_600)
    expect(body.expires_at).toBe(new Date(clock.now().getTime() + 129_600_000).toISOString())
    expect(decodeJwt(body.access_token).sub).toBe(decodeJwt(accessToken).sub)
    expect(decodeJwt(body.access_token).jti).not.toBe(decodeJwt(accessToken).jti)

    // 36 h after pairing, the first token has expired; the refreshed one lives on.
    clock.advance(6 * 3_600_000)
    await expect401(await refresh(accessToken), 'token_expired')
    expect((await refresh(body.access_token)).status).toBe(200)
  })
})

describe('logout', () => {
  it('revokes the token at once: 401 from then on, for refresh and logout alike', async () => {
    const { accessToken } = await pairedUser(db.sql, server.config, { clock })
    const res = await logout(accessToken)
    expect(res.status).toBe(200)
    expect(LogoutResponse.parse(await res.json())).toEqual({ revoked: true, sessions_cleared: 0 })
    await expect401(await refresh(accessToken))
    await expect401(await logout(accessToken))
  })

  it('leaves the person\'s other tokens alone', async () => {
    const first = await pairedUser(db.sql, server.config, { clock })
    const second = await pairedUser(db.sql, server.config, { clock, phone: first.user.phoneE164 })
    expect((await logout(first.accessToken)).status).toBe(200)
    expect((await refresh(second.accessToken)).status).toBe(200)
  })
})

describe('tokens that are not ours are 401', () => {
  async function claimsOf() {
    const { accessToken, user } = await pairedUser(db.sql, server.config, { clock })
    return { accessToken, user, claims: decodeJwt(accessToken) }
  }
  const sign = (claims: Record<string, unknown>, secret: string, header: { alg: string } = { alg: 'HS256' }) =>
    new SignJWT(claims).setProtectedHeader(header).sign(new TextEncoder().encode(secret))
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

  it('alg "none"', async () => {
    const { claims } = await claimsOf()
    await expect401(await refresh(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`))
  })

  it('signed with another key', async () => {
    const { claims } = await claimsOf()
    await expect401(await refresh(await sign(claims, 'another-secret-that-is-also-32-bytes-long')))
  })

  it('HS512 with the right key (algorithm pinned to HS256)', async () => {
    const { claims } = await claimsOf()
    await expect401(await refresh(await sign(claims, TEST_JWT_SECRET, { alg: 'HS512' })))
  })

  it('the wrong audience or issuer, even with the right key', async () => {
    const { claims } = await claimsOf()
    await expect401(await refresh(await sign({ ...claims, aud: 'someone-else' }, TEST_JWT_SECRET)))
    await expect401(await refresh(await sign({ ...claims, iss: 'someone-else' }, TEST_JWT_SECRET)))
  })

  it('a well-signed token whose jti was never issued', async () => {
    const { claims } = await claimsOf()
    await expect401(await refresh(await sign({ ...claims, jti: '00000000-0000-4000-8000-000000000000' }, TEST_JWT_SECRET)))
  })

  it('an expired token is 401 token_expired', async () => {
    const { accessToken } = await claimsOf()
    clock.advance(129_600_000)
    await expect401(await refresh(accessToken), 'token_expired')
  })

  it('garbage and a wrong scheme', async () => {
    await expect401(await refresh('not-a-jwt'))
    const { accessToken } = await claimsOf()
    await expect401(await postJson(`${server.url}/auth/refresh`, {}, { authorization: `Basic ${accessToken}` }))
  })

  it('the real token still works (so the cases above fail for the reason they name)', async () => {
    const { accessToken } = await claimsOf()
    expect((await refresh(accessToken)).status).toBe(200)
  })
})
