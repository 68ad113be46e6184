import { describe, expect, it } from 'vitest'
import { startLoginCallback } from '../../mcp/login-callback.js'
import { createMcpLogger } from '../../mcp/log.js'
import { useTestDatabase } from '../support/db.js'
import { pluginDirs, startMcp } from '../support/mcp-client.js'
import { recordSecret } from '../support/secrets.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

// A newcomer runs the server without Twilio settings: no text ever arrives, so every page that says
// "we texted you" must say where the code really is.

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const consoleServer = useTestServer(() => ({ sql: db.sql, name: 'console-mode-pages' }))
const twilioServer = useTestServer(() => ({ sql: db.sql, twilio, name: 'console-mode-pages-twilio' }))

async function signInThroughPage(base: string, callbackUri: string) {
  const params = { callback_uri: callbackUri, state: 'console-pages-state' }
  const page = await (await fetch(`${base}/login?${new URLSearchParams(params)}`)).text()
  const posted = await fetch(`${base}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...params, phone: testPhone() }).toString(),
    redirect: 'manual',
  })
  return { page, posted }
}

describe('the plugin sign-in without Twilio', () => {
  it('the sign-in page says the code is on the server terminal and the dashboard outbox; the check-your-phone page repeats it', async () => {
    const callback = await startLoginCallback({ state: 'console-pages-state', ttlMs: 60_000, log: createMcpLogger('silent') })
    const { page, posted } = await signInThroughPage(consoleServer.url, callback.callbackUri)
    expect(page).toMatch(/without Twilio.*printed on the server&#39;s terminal.*\[console text\].*\/dashboard\/outbox/s)
    expect(posted.status).toBe(303)
    const location = new URL(posted.headers.get('location')!)
    expect(location.searchParams.get('sms')).toBe('console')
    const checkYourPhone = await (await fetch(location)).text()
    expect(checkYourPhone).toMatch(/without Twilio, so no text is sent: the code is printed on the server&#39;s terminal/)
    expect(checkYourPhone).toContain('/dashboard/outbox')
    expect(callback.result()).toMatchObject({ sms: 'console' })
  })

  it('with Twilio, neither page mentions the terminal and the callback carries no sms=console', async () => {
    const callback = await startLoginCallback({ state: 'console-pages-state', ttlMs: 60_000, log: createMcpLogger('silent') })
    const { page, posted } = await signInThroughPage(twilioServer.url, callback.callbackUri)
    expect(page).not.toContain('console text')
    const location = new URL(posted.headers.get('location')!)
    expect(location.searchParams.has('sms')).toBe(false)
    const checkYourPhone = await (await fetch(location)).text()
    expect(checkYourPhone).toContain('on its way by text')
    expect(checkYourPhone).not.toContain('terminal')
  })
})

describe('the plugin without a browser (over SSH), against a server without Twilio', () => {
  it('/sms-setup says the code is on the server terminal, and that code pairs', async () => {
    const p = await startMcp({ dirs: pluginDirs(), env: { CLAUDE_SMS_AUTH_URL: consoleServer.url, SSH_CONNECTION: '10.0.0.1 50000 10.0.0.2 22' } })
    try {
      const phone = testPhone()
      const setup = await p.call('sms_setup', { phone })
      expect(setup.text).toMatch(/without Twilio, so no text is sent: the code is printed on the server's terminal/)
      expect(setup.text).toMatch(/\/sms-notifier:sms-pair <code>/)
      const line = consoleServer.consoleTexts.findLast((l) => l.includes(`+1***${phone.slice(-4)}`))!
      const code = /code is (\d{6})/.exec(line)![1]!
      recordSecret('code', code)
      expect((await p.call('sms_pair', { code })).isError).toBe(false)
    } finally {
      await p.close()
    }
  })
})
