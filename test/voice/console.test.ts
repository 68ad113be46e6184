import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { approvalSession, askApproval, pollApproval, pollIsWaiting } from '../approvals/support.js'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { codeOnConsole } from '../support/pairing.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { callSettings, escalationOf, MINUTE } from './support.js'

const db = useTestDatabase()
let server: TestServer

// No Twilio endpoint: the console transport, as after a plain `npm start`.
beforeAll(async () => {
  server = await startTestServer({ sql: db.sql, name: 'voice-console', pairingLimits: { perNumberPerMinute: 5 } })
})
afterAll(() => server?.close())

/** In console mode the sign-in code is printed on the server's terminal. */
async function signIn(phone: string): Promise<DashboardClient> {
  const client = new DashboardClient(server.url)
  const login = await (await client.get('/dashboard/login')).text()
  await client.post('/dashboard/login', { csrf: csrfOf(login), phone })
  const codePage = await (await client.get('/dashboard/login/code')).text()
  expect((await client.post('/dashboard/login/code', { csrf: csrfOf(codePage), code: codeOnConsole(server.consoleTexts, phone) })).status).toBe(303)
  return client
}

describe('calls in console mode', () => {
  it('the call is logged and listed in the outbox with its script; "simulate keypress" allows the request and the waiting plugin hears it', async () => {
    const s = await approvalSession(server, db.sql)
    await callSettings(db.sql, s.userId, { requests: true, minutes: 5 })
    const asked = await askApproval(server, s, { summary: 'rm -rf build' })
    const approvalId = asked.body.approval_id as string
    // The escalation job sweeps five minutes and a bit later than the request was texted.
    const later = manualClock(new Date(Date.now() + 5 * MINUTE + 1_000))
    expect(await escalationOf(server, db.sql, later).sweep()).toMatchObject({ placed: 1 })
    expect(server.logs.lines.some((l) => l.includes('call (console transport') && l.includes('Wants to run: rm -rf build') && !l.includes(s.phone))).toBe(true)

    const client = await signIn(s.phone)
    const outbox = await (await client.get('/dashboard/outbox')).text()
    expect(outbox).toContain('<h2>Calls</h2>')
    expect(outbox).toContain('This is Claude Code, project api-server. Wants to run: rm -rf build. Press 1 to allow, 2 to deny, 9 to hear it again.')
    const action = /action="(\/dashboard\/outbox\/calls\/[0-9a-f-]{36}\/keypress)"/.exec(outbox)![1]!

    // A form from another site carries no CSRF token: refused, nothing settled.
    expect((await client.post(action, { digits: '1' })).status).toBe(403)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('pending')

    const poll = pollApproval(server, s, approvalId, 25)
    await pollIsWaiting(server.logs.lines, approvalId)
    const pressed = await client.post(action, { csrf: csrfOf(outbox), digits: '1' })
    expect(pressed.status).toBe(303)
    expect((await poll).body).toMatchObject({ status: 'allowed', decided_by: 'phone' })
    expect(await (await client.get('/dashboard/outbox')).text()).toContain('Key pressed: <b>1</b> (allowed by the keypress)')

    // Another person cannot press keys on this call.
    const other = await approvalSession(server, db.sql)
    const stranger = await signIn(other.phone)
    const strangerPage = await (await stranger.get('/dashboard/outbox')).text()
    expect(strangerPage).not.toContain('rm -rf build')
    expect((await stranger.post(action, { csrf: csrfOf(strangerPage), digits: '2' })).status).toBe(404)
    expect((await pollApproval(server, s, approvalId)).body.status).toBe('allowed')
  })
})
