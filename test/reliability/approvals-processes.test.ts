import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { approvalSession, askApproval, pollApproval } from '../approvals/support.js'
import { useTestDatabase } from '../support/db.js'
import { twilioPost } from '../support/monitoring.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET, testConfig, TWILIO_FROM } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'

// Built servers (real processes, as `npm start` runs them) on one database: the phone's answer reaches
// a long poll held by another process through PostgreSQL LISTEN/NOTIFY, and a long poll survives a
// restart of the process that held it (the plugin polls again, and the new process answers).

const db = useTestDatabase()
const PUBLIC_URL = 'https://sms.example.test'
let twilio: TwilioEndpoint
const running: SpawnedServer[] = []

function start(): SpawnedServer {
  const server = spawnServer({
    PORT: '0',
    LOG_LEVEL: 'debug',
    PUBLIC_URL,
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ...twilio.serverEnv(TWILIO_FROM),
  })
  running.push(server)
  return server
}

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
})

afterAll(async () => {
  for (const s of running) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM')
  await Promise.all(running.map((s) => s.exited))
  await twilio?.close()
})

/** A text from the phone, signed for PUBLIC_URL (what Twilio is configured with), delivered to one process. */
async function textTo(url: string, from: string, body: string) {
  const params = { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: twilio.accountSid, From: from, To: TWILIO_FROM, Body: body }
  return twilioPost(twilio, `${url}/twilio/inbound`, params, { signedFor: `${PUBLIC_URL}/twilio/inbound` })
}

const waiting = (server: SpawnedServer, approvalId: string) => server.waitForLine(new RegExp(`"approval_id":"${approvalId}".*long poll waiting`))

describe('approvals with several server processes', () => {
  it('a long poll on process A hears the decision texted to process B', async () => {
    const [a, b] = [start(), start()]
    const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)])
    const s = await approvalSession({ url: urlA, config: testConfig({ JWT_SECRET: TEST_JWT_SECRET }) }, db.sql)
    const asked = await askApproval({ url: urlA }, s)
    const id = asked.body.approval_id as string
    const poll = pollApproval({ url: urlA }, s, id, 25)
    await waiting(a, id)
    const answer = await textTo(urlB, s.phone, `Y ${asked.body.tag as string}`)
    expect(answer.text).toContain('Allowed Bash')
    expect((await poll).body).toMatchObject({ status: 'allowed', decided_by: 'phone' })
  })

  it('a restart during a long poll: the poll ends with the current state at shutdown, and the poll sent again to the new process hears the decision', async () => {
    const [a, b] = [start(), start()]
    const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)])
    const s = await approvalSession({ url: urlA, config: testConfig({ JWT_SECRET: TEST_JWT_SECRET }) }, db.sql)
    const asked = await askApproval({ url: urlA }, s)
    const id = asked.body.approval_id as string
    const held = pollApproval({ url: urlA }, s, id, 25)
    await waiting(a, id)
    a.proc.kill('SIGTERM')
    const cut = await held
    expect(cut.status).toBe(200)
    expect(cut.body).toMatchObject({ status: 'pending', decided_by: null })
    expect((await a.exited).code).toBe(0)

    const again = start()
    const urlAgain = await listeningUrl(again)
    const poll = pollApproval({ url: urlAgain }, s, id, 25)
    await waiting(again, id)
    await textTo(urlB, s.phone, `N ${asked.body.tag as string}`)
    expect((await poll).body).toMatchObject({ status: 'denied', decided_by: 'phone', message: expect.stringMatching(/^Denied by text from \+1\*\*\*\d{4}$/) })
  })
})
