import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { useTestDatabase } from '../support/db.js'
import { api } from '../support/monitoring.js'
import { useTestServer } from '../support/server.js'
import { pairedUser } from '../support/users.js'

/** MAX_LIVE_SESSIONS_PER_USER: one token cannot make the server track sessions without end. */
const db = useTestDatabase()
const server = useTestServer(() => ({ sql: db.sql, env: { MAX_LIVE_SESSIONS_PER_USER: '3' }, name: 'live-session-cap' }))

const start = (token: string) => api(server.url, 'POST', '/sessions/start', { token, body: { claude_session_id: randomUUID(), description: 'Refactor billing' } })
const stop = (s: { body: Record<string, unknown> }) =>
  api(server.url, 'POST', `/sessions/${s.body.monitoring_id as string}/stop`, { token: s.body.session_token as string, body: { reason: 'user_stopped', ended_at: new Date().toISOString() } })

describe('live monitoring sessions per person', () => {
  it('beyond the limit, a start is 429 rate_limited saying to stop some; stopping one lets the next start', async () => {
    const { accessToken } = await pairedUser(db.sql, server.config)
    const running = []
    for (let i = 0; i < 3; i++) {
      const s = await start(accessToken)
      expect(s.status).toBe(200)
      running.push(s)
    }
    const refused = await start(accessToken)
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ error: 'rate_limited', details: { live_sessions: 3, max_live_sessions: 3 }, request_id: expect.stringMatching(/^req_/) })
    expect(refused.body.message).toMatch(/3 monitored sessions running.*Stop the ones you no longer need/)
    expect(refused.headers.get('retry-after')).toBe('60')

    // Another person is not held back by this one's sessions.
    expect((await start((await pairedUser(db.sql, server.config)).accessToken)).status).toBe(200)

    expect((await stop(running[0]!)).status).toBe(200)
    expect((await start(accessToken)).status).toBe(200)
    expect((await start(accessToken)).status).toBe(429)
  })

  it('sessions that went dark do not count (nobody may be left to stop them)', async () => {
    const { accessToken, user } = await pairedUser(db.sql, server.config)
    for (let i = 0; i < 3; i++) expect((await start(accessToken)).status).toBe(200)
    await db.sql`update monitoring_sessions set status = 'stale', stale_at = now() where user_id = ${user.id}`
    expect((await start(accessToken)).status).toBe(200)
  })

  it('holds when many starts arrive at once', async () => {
    const { accessToken } = await pairedUser(db.sql, server.config)
    const answers = await Promise.all(Array.from({ length: 8 }, () => start(accessToken)))
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3)
    expect(answers.filter((a) => a.status === 429)).toHaveLength(5)
  })
})
