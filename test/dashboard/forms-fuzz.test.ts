import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, name: 'dashboard-forms-fuzz', env: { LOG_LEVEL: 'warn' } }))
let client: DashboardClient
let csrf: string

beforeAll(async () => {
  client = new DashboardClient(server.url)
  await client.signIn(testPhone(), twilio)
  csrf = csrfOf(await (await client.get('/dashboard/settings')).text())
})

const text = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('', 'on', '22:00', '24:00', '07:60', '2026-02-30T25:00', 'Europe/Paris', 'Mars/Olympus', '-5', '1e9', '99999', '<script>', '%00'))

describe('the dashboard forms under random input', () => {
  it('answer every signed-in form with a page or a redirect, never a 5xx, and the session survives', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/dashboard/settings', '/dashboard/login', '/dashboard/login/code'),
        fc.dictionary(fc.constantFrom('quiet_enabled', 'quiet_start', 'quiet_end', 'time_zone', 'quiet_allow_waiting', 'went_dark_alerts', 'done_threshold_minutes', 'paused_until', 'phone', 'code'), text),
        fc.boolean(),
        async (path, form, withToken) => {
          const res = await client.post(path, withToken ? { ...form, csrf } : form)
          expect(res.status, `${path} ${JSON.stringify(form)}`).toBeLessThan(500)
          expect([200, 303, 400, 403, 429]).toContain(res.status)
          await res.text()
        },
      ),
      { numRuns: 300 },
    )
    expect((await client.get('/dashboard/settings')).status).toBe(200)
  }, 120_000)
})
