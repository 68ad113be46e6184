import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
let server: TestServer

// No Twilio endpoint: the console transport, as after a plain `npm start`.
beforeAll(async () => {
  server = await startTestServer({ sql: db.sql, name: 'dashboard-outbox' })
})
afterAll(() => server?.close())

/** In console mode the code exists only in the server's log: read it there, as a newcomer would. */
function codeFromLog(): string {
  const line = [...server.logs.entries()].reverse().find((e) => typeof e.text === 'string' && /sign-in code is \d{6}/.test(e.text as string))
  return /(\d{6})/.exec(line!.text as string)![1]!
}

describe('the outbox (console transport)', () => {
  it('signs in with the code from the server log, and lists the texts the server would have sent, codes blanked', async () => {
    const phone = testPhone()
    const s = await monitoredSession(server, db.sql, { phone, description: 'Data migration' })
    await sendEvent(server, s, { event_type: 'error', details: { error: 'duplicate key' } })

    const client = new DashboardClient(server.url)
    const login = await (await client.get('/dashboard/login')).text()
    expect(login).toContain("server's log")
    await client.post('/dashboard/login', { csrf: csrfOf(login), phone })
    const codePage = await (await client.get('/dashboard/login/code')).text()
    expect((await client.post('/dashboard/login/code', { csrf: csrfOf(codePage), code: codeFromLog() })).status).toBe(303)

    const sessions = await (await client.get('/dashboard/sessions')).text()
    expect(sessions).toContain('href="/dashboard/outbox"')
    const outbox = await (await client.get('/dashboard/outbox')).text()
    expect(outbox).toContain('Data migration')
    expect(outbox).toContain('duplicate key')
    expect(outbox).toContain('sign-in code is ******')
    expect(outbox).toContain(`+1***${phone.slice(-4)}`)
    expect(outbox).not.toContain(phone)
    expect(outbox).toContain('only in the server')
    expect(outbox).not.toMatch(/code is \d{6}/)
  })
})
