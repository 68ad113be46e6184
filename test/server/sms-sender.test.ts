import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createSmsSender } from '../../server/sms/sender.js'
import { createTwilioTransport } from '../../server/sms/twilio.js'
import { createConsoleTransport } from '../../server/sms/console.js'
import { useTestDatabase } from '../support/db.js'
import { captureLog } from '../support/log.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
let twilio: TwilioEndpoint
const logs = captureLog('sms-sender')

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
})
afterAll(() => twilio.close())
beforeEach(() => twilio.reset())

function twilioSender(opts: { deadlineMs?: number } = {}) {
  const transport = createTwilioTransport({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: { phoneNumber: '+15005550006' }, apiBase: twilio.baseUrl })
  return createSmsSender({ sql: db.sql, transport, log: logs.log, pepper: 'pepper', statusCallbackUrl: 'http://127.0.0.1:9/twilio/status', backoffMs: () => 1, ...opts })
}

async function row(id: string) {
  const [r] = await db.sql`select * from sms_messages where id = ${id}`
  return r!
}

describe('sending a text through the real twilio SDK', () => {
  it('reaches the provider and is recorded with its sid, status and segment count', async () => {
    const to = testPhone()
    const outcome = await twilioSender().send({ userId: null, to, body: '✅ Claude: "refactor" Completed successfully!', kind: 'test' })
    expect(outcome.sent).toBe(true)
    const [message] = await twilio.waitForMessages(1)
    expect(message!.to).toBe(to)
    expect(message!.from).toBe('+15005550006')
    expect(message!.statusCallback).toBe('http://127.0.0.1:9/twilio/status')
    const r = await row(outcome.smsId)
    expect(r.status).toBe('queued')
    expect(r.provider_sid).toBe(message!.sid)
    expect(r.encoding).toBe('UCS-2')
    expect(r.segments).toBe(1)
    expect(r.to_masked).toBe(`+1***${to.slice(-4)}`)
    expect(JSON.stringify(r)).not.toContain(to)
  })

  it('keeps the code out of the stored body of a pairing text', async () => {
    const outcome = await twilioSender().send({ userId: null, to: testPhone(), body: 'Your code is 493021', storedBody: 'Your code is ******', kind: 'pairing_code' })
    expect((await twilio.waitForMessages(1))[0]!.body).toBe('Your code is 493021')
    expect((await row(outcome.smsId)).body).toBe('Your code is ******')
  })

  it('does not retry a number that replied STOP (21610) and records the error', async () => {
    const outcome = await twilioSender().send({ userId: null, to: '+15005550004', body: 'hello', kind: 'test' })
    expect(outcome.sent).toBe(false)
    if (outcome.sent) return
    expect(outcome.error.code).toBe(21610)
    expect(outcome.error.permanent).toBe(true)
    expect(twilio.attempts).toBe(1)
    const r = await row(outcome.smsId)
    expect(r.status).toBe('failed')
    expect(r.error_code).toBe(21610)
  })

  it('retries 429 and 5xx a bounded number of times, then succeeds', async () => {
    twilio.failNext(1, { status: 429 })
    twilio.failNext(1, { status: 503 })
    const outcome = await twilioSender().send({ userId: null, to: testPhone(), body: 'hello', kind: 'test' })
    expect(outcome.sent).toBe(true)
    expect(twilio.attempts).toBe(3)
    expect((await row(outcome.smsId)).attempts).toBe(3)
  })

  it('gives up after three attempts when the provider keeps failing', async () => {
    twilio.failNext(5, { status: 500 })
    const outcome = await twilioSender().send({ userId: null, to: testPhone(), body: 'hello', kind: 'test' })
    expect(outcome.sent).toBe(false)
    expect(twilio.attempts).toBe(3)
  })

  it('never holds the caller longer than its deadline when the provider hangs', async () => {
    const release = twilio.hold()
    try {
      const outcome = await twilioSender({ deadlineMs: 300 }).send({ userId: null, to: testPhone(), body: 'hello', kind: 'test' })
      expect(outcome.sent).toBe(false)
      if (!outcome.sent) expect(outcome.error.message).toMatch(/did not answer in time/)
      expect((await row(outcome.smsId)).status).toBe('failed')
    } finally {
      release()
    }
  })
})

describe('the console transport (no Twilio configured)', () => {
  it('logs the text with the number masked and stores it for the outbox', async () => {
    const local = captureLog('sms-console')
    const sender = createSmsSender({ sql: db.sql, transport: createConsoleTransport(local.log), log: local.log, pepper: 'p' })
    const to = testPhone()
    const outcome = await sender.send({ userId: null, to, body: '⏳ Claude is waiting', kind: 'test' })
    expect(outcome.sent).toBe(true)
    expect((await row(outcome.smsId)).status).toBe('logged')
    const logged = local.lines.join('\n')
    expect(logged).toContain('⏳ Claude is waiting')
    expect(logged).toContain(`+1***${to.slice(-4)}`)
    expect(logged).not.toContain(to)
  })
})
