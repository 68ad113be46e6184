import { beforeEach, describe, expect, it } from 'vitest'
import { manualClock } from '../../server/clock.js'
import { createSweeper } from '../../server/monitoring/sweeper.js'
import { createNotifier } from '../../server/sms/notifier.js'
import { csrfOf, DashboardClient } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { monitoredSession, sendEvent } from '../support/monitoring.js'
import { useTestServer, useTwilioEndpoint } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
// 23:30 UTC: inside quiet hours 22:00-07:00 UTC. Near the real date, so cookie expiry dates stay valid.
const clock = manualClock(new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 23, 30)))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'dashboard-settings-effect', pairingLimits: { perNumberPerMinute: 100, perNumberPerHour: 100, perIpPerHour: 1000 } }))
beforeEach(() => twilio.reset())

const baseForm = { quiet_start: '22:00', quiet_end: '07:00', time_zone: 'UTC', done_threshold_minutes: '0', went_dark_alerts: 'on' }

async function saveSettings(client: DashboardClient, form: Record<string, string>) {
  const csrf = csrfOf(await (await client.get('/dashboard/settings')).text())
  const res = await client.post('/dashboard/settings', { ...form, csrf })
  expect(res.status, await res.clone().text()).toBe(303)
}

/** A paired user with a monitored session, signed in to the dashboard. */
async function userWithSession() {
  const phone = testPhone()
  const s = await monitoredSession(server, db.sql, { phone })
  const client = new DashboardClient(server.url)
  await client.signIn(phone, twilio)
  twilio.reset()
  return { phone, s, client }
}

describe('saved settings take effect on the next event', () => {
  it('quiet hours hold an error instead of texting it, and one summary goes out when they end', async () => {
    const { phone, s, client } = await userWithSession()
    await saveSettings(client, { ...baseForm, quiet_enabled: 'on' })

    const held = await sendEvent(server, s, { event_type: 'error', details: { error: 'build broke' } })
    expect(held.status).toBe(200)
    expect(held.body).toMatchObject({ sms_sent: false, reason: 'quiet_hours' })
    expect(held.body.next_allowed_at).toBe(new Date(clock.now().getTime() + 7.5 * 3_600_000).toISOString())
    await sendEvent(server, s, { event_type: 'done', details: {} })
    expect(twilio.messages).toHaveLength(0)
    const page = await (await client.get(`/dashboard/sessions/${s.id}`)).text()
    expect(page.match(/held: quiet hours/g)).toHaveLength(2)

    const notifier = createNotifier({ sql: db.sql, sms: server.sms, clock, log: server.log, charset: 'unicode' })
    const sweeper = createSweeper({ sql: db.sql, clock, log: server.log, notifier })
    clock.advance(3 * 3_600_000) // 02:30: still quiet
    expect((await sweeper.sweep()).digests).toBe(0)
    clock.advance(5 * 3_600_000) // 07:30: over
    expect((await sweeper.sweep()).digests).toBe(1)
    expect((await sweeper.sweep()).digests).toBe(0)
    const [summary] = await twilio.waitForMessages(1)
    expect(summary!.to).toBe(phone)
    expect(summary!.body).toContain('Quiet hours over.')
    expect(summary!.body).toContain('1 error, 1 done')
    clock.advance(-8 * 3_600_000)
  })

  it('lets "waiting" through quiet hours when asked to', async () => {
    const { phone, s, client } = await userWithSession()
    await saveSettings(client, { ...baseForm, quiet_enabled: 'on', quiet_allow_waiting: 'on' })
    expect((await sendEvent(server, s, { event_type: 'waiting', details: { message: 'Proceed?' } })).body).toMatchObject({ sms_sent: true })
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })).body).toMatchObject({ sms_sent: false, reason: 'quiet_hours' })
    expect(twilio.messages.map((m) => m.to)).toEqual([phone])
  })

  it('texts as before once quiet hours are switched off', async () => {
    const { s, client } = await userWithSession()
    await saveSettings(client, { ...baseForm, quiet_enabled: 'on' })
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })).body).toMatchObject({ reason: 'quiet_hours' })
    await saveSettings(client, baseForm)
    const sent = await sendEvent(server, s, { event_type: 'error', details: { error: 'y' } })
    expect(sent.body).toMatchObject({ sms_sent: true })
    // The held error is told in this text
    expect((await twilio.waitForMessages(1))[0]!.body).toMatch(/\+1 more since/)
  })

  it('the done threshold skips short turns but never the end of a session', async () => {
    const { s, client } = await userWithSession()
    await saveSettings(client, { ...baseForm, done_threshold_minutes: '20' })
    expect((await sendEvent(server, s, { event_type: 'done', details: { turn_duration_ms: 6 * 60_000 } })).body).toMatchObject({ sms_sent: false, reason: 'below_threshold' })
    expect((await sendEvent(server, s, { event_type: 'done', details: { reason: 'prompt_input_exit' } })).body).toMatchObject({ sms_sent: true })
  })

  it('went-dark alerts can be switched off: a silent session goes stale without a text', async () => {
    const { phone, s, client } = await userWithSession()
    const unchecked: Record<string, string> = { ...baseForm }
    delete unchecked.went_dark_alerts // an unchecked box is not sent at all
    await saveSettings(client, unchecked)
    const notifier = createNotifier({ sql: db.sql, sms: server.sms, clock, log: server.log, charset: 'unicode' })
    const sweeper = createSweeper({ sql: db.sql, clock, log: server.log, notifier })
    clock.advance(10 * 60_000)
    const swept = await sweeper.sweep()
    clock.advance(-10 * 60_000)
    expect(swept.stale).toContain(s.id)
    const page = await (await client.get(`/dashboard/sessions/${s.id}`)).text()
    expect(page).toContain('data-status="stale"')
    expect(page).toContain('not texted: alert turned off')
    expect(twilio.messages.filter((m) => m.to === phone)).toEqual([])
  })

  it('a pause set on the page holds texts until then; clearing it resumes at once', async () => {
    const { s, client } = await userWithSession()
    await saveSettings(client, { ...baseForm, paused_until: '2099-01-01T09:00' })
    expect((await sendEvent(server, s, { event_type: 'error', details: { error: 'x' } })).body).toMatchObject({ sms_sent: false, reason: 'paused' })
    expect(await (await client.get('/dashboard/settings')).text()).toContain('value="2099-01-01T09:00"')
    await saveSettings(client, baseForm)
    const notifier = createNotifier({ sql: db.sql, sms: server.sms, clock, log: server.log, charset: 'unicode' })
    expect((await createSweeper({ sql: db.sql, clock, log: server.log, notifier }).sweep()).digests).toBe(1)
    expect((await twilio.waitForMessages(1))[0]!.body).toContain('Pause over')
  })
})
