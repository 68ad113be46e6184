import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { api } from '../support/monitoring.js'
import { pairRemotely } from '../support/pairing.js'
import { recordSecret } from '../support/secrets.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'secrets-in-transit' }))

// RFC 9111 §5.2.2.5: no-store keeps a token-bearing answer out of every cache on the way (a corporate
// proxy, the browser's disk cache).
describe('answers that carry a token are never cached', () => {
  it('POST /auth/exchange, /auth/refresh and /sessions/start answer with Cache-Control: no-store', async () => {
    const paired = await pairRemotely(server.url, twilio, testPhone())
    expect(paired.exchangeHeaders.get('cache-control')).toBe('no-store')
    expect(paired.loginHeaders.get('cache-control')).toBe('no-store')
    const refresh = await api(server.url, 'POST', '/auth/refresh', { token: paired.accessToken })
    expect(refresh.status).toBe(200)
    recordSecret('token', refresh.body.access_token as string)
    expect(refresh.headers.get('cache-control')).toBe('no-store')
    const start = await api(server.url, 'POST', '/sessions/start', { token: refresh.body.access_token as string, body: { claude_session_id: randomUUID(), description: 'Refactor auth' } })
    expect(start.status).toBe(200)
    recordSecret('token', start.body.session_token as string)
    expect(start.body.session_token).toEqual(expect.any(String))
    expect(start.headers.get('cache-control')).toBe('no-store')
  })
})
