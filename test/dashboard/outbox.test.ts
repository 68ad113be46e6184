import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { codeOnConsole, postJson } from '../support/pairing.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
let server: TestServer

// No Twilio endpoint: the console transport, as after a plain `npm start`.
beforeAll(async () => {
  // A sign-in code and a pairing code to one number within a minute.
  server = await startTestServer({ sql: db.sql, name: 'dashboard-outbox', pairingLimits: { perNumberPerMinute: 5 } })
})
afterAll(() => server?.close())

/** In console mode the code is printed on the server's terminal: read it there, as a newcomer would. */
const codeFromTerminal = (phone: string, what?: RegExp) => codeOnConsole(server.consoleTexts, phone, what)

async function signIn(phone: string): Promise<DashboardClient> {
  const client = new DashboardClient(server.url)
  const login = await (await client.get('/dashboard/login')).text()
  expect(login).toContain("server's terminal")
  await client.post('/dashboard/login', { csrf: csrfOf(login), phone })
  const codePage = await (await client.get('/dashboard/login/code')).text()
  expect(codePage).toContain("server's terminal")
  expect((await client.post('/dashboard/login/code', { csrf: csrfOf(codePage), code: codeFromTerminal(phone) })).status).toBe(303)
  return client
}

describe('the outbox (console transport)', () => {
  it('signs in with the code printed on the terminal, and lists the texts the server would have sent', async () => {
    const phone = testPhone()
    const s = await monitoredSession(server, db.sql, { phone, description: 'Data migration' })
    await sendEvent(server, s, { event_type: 'error', details: { error: 'duplicate key' } })
    const client = await signIn(phone)
    const sessions = await (await client.get('/dashboard/sessions')).text()
    expect(sessions).toContain('href="/dashboard/outbox"')
    const outbox = await (await client.get('/dashboard/outbox')).text()
    expect(outbox).toContain('Data migration')
    expect(outbox).toContain('duplicate key')
    expect(outbox).toContain(`+1***${phone.slice(-4)}`)
    expect(outbox).not.toContain(phone)
    // Codes are never stored: the JSON log has the blanked copy only.
    expect(server.logs.lines.join('\n')).not.toMatch(/code is \d{6}/)
  })

  it('shows a plugin pairing code in full to the number it was sent to, and each person only their own texts', async () => {
    const alice = testPhone()
    const bob = testPhone()
    await sendEvent(server, await monitoredSession(server, db.sql, { phone: alice, description: 'Alice refactor' }), { event_type: 'done' })
    await sendEvent(server, await monitoredSession(server, db.sql, { phone: bob, description: 'Bob deploy' }), { event_type: 'done' })
    const aliceClient = await signIn(alice)
    const bobClient = await signIn(bob)

    // Alice pairs her plugin (remote mode): the answer says where the code is.
    const pairing = await postJson(`${server.url}/login`, { phone: alice, state: 'outbox-state-1', mode: 'remote' })
    expect(pairing.status).toBe(200)
    expect(await pairing.json()).toMatchObject({ sms: 'console' })
    const code = codeFromTerminal(alice, /notifier code is (\d{6})/)

    const aliceOutbox = await (await aliceClient.get('/dashboard/outbox')).text()
    expect(aliceOutbox).toContain(code)
    expect(aliceOutbox).toContain('Alice refactor')
    expect(aliceOutbox).not.toContain('Bob deploy')
    expect(aliceOutbox).not.toContain(`+1***${bob.slice(-4)}`)

    const bobOutbox = await (await bobClient.get('/dashboard/outbox')).text()
    expect(bobOutbox).not.toContain(code)
    expect(bobOutbox).not.toContain('Alice refactor')
    expect(bobOutbox).not.toContain(`+1***${alice.slice(-4)}`)
    expect(bobOutbox).toContain('Bob deploy')
  })
})
