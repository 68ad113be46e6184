import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ApprovalState } from '../../contract/approvals.js'
import { manualClock } from '../../server/clock.js'
import { maskPhone } from '../../server/phone.js'
import { DashboardClient, openLiveStream } from '../support/dashboard.js'
import { useTestDatabase } from '../support/db.js'
import { api } from '../support/monitoring.js'
import { tagTextedTo, textFromPhone } from '../support/phone.js'
import { startTestServer, useTestServer, useTwilioEndpoint } from '../support/server.js'
import { approvalSession, askApproval, pollApproval, pollIsWaiting, settleApproval } from './support.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-01T12:00:00Z'))
const twilio = useTwilioEndpoint()
const server = useTestServer(() => ({ sql: db.sql, twilio, clock, name: 'approvals' }))

const textsTo = (phone: string) => twilio.messages.filter((m) => m.to === phone)
const reply = (from: string, body: string, sid?: string) => textFromPhone(twilio, server, from, body, sid)
// Dashboard cookies carry real expiry dates: pages are read from a server on the real clock.
const dashboardServer = useTestServer(() => ({ sql: db.sql, twilio, name: 'approvals-dashboard' }))

describe('opting in', () => {
  it('approvals are off unless the session is started with approvals: true; off means refused and nothing texted', async () => {
    const off = await approvalSession(server, db.sql, { approvals: false })
    expect(off.approvalsEnabled).toBe(false)
    const asked = await askApproval(server, off)
    expect(asked.status).toBe(200)
    expect(ApprovalState.strict().parse(asked.body)).toMatchObject({ status: 'refused', refused_reason: 'session_disabled', sms_sent: false, tag: null })
    expect(textsTo(off.phone)).toHaveLength(0)

    const on = await approvalSession(server, db.sql)
    expect(on.approvalsEnabled).toBe(true)
    expect((await askApproval(server, on)).body).toMatchObject({ status: 'pending', sms_sent: true, tag: expect.stringMatching(/^[0-9A-HJKMNP-TV-Z]{4}$/) })
  })

  it('the dashboard switch "Never accept approvals by text" wins: start answers false, requests are refused, replies are not taken', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    const tag = tagTextedTo(twilio, s.phone)
    const dashboard = new DashboardClient(dashboardServer.url)
    await dashboard.signIn(s.phone, twilio)
    const page = await (await dashboard.get('/dashboard/settings')).text()
    expect(page).toContain('Never accept approvals by text')
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!
    const saved = await dashboard.post('/dashboard/settings', { csrf, quiet_start: '22:00', quiet_end: '07:00', time_zone: 'UTC', done_threshold_minutes: '0', went_dark_alerts: 'on', approvals_disabled: 'on' })
    expect(saved.status).toBe(303)

    expect((await reply(s.phone, `Y ${tag}`)).reply).toContain('turned off')
    expect((await pollApproval(server, s, asked.body.approval_id as string)).body.status).toBe('pending')
    expect((await askApproval(server, s)).body).toMatchObject({ status: 'refused', refused_reason: 'account_disabled' })
    const again = await approvalSession(server, db.sql, { user: s })
    expect(again.approvalsEnabled).toBe(false)
  })
})

describe('decided at the moment of the reply, not only when the request was texted', () => {
  it('a reply after the carrier reported an opt-out (21610) allows nothing; the request stays open for the terminal', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    const tag = tagTextedTo(twilio, s.phone)
    const requestText = textsTo(s.phone).at(-1)!
    expect((await twilio.postStatus(requestText.sid, 'undelivered', { errorCode: 21610 })).status).toBe(204)

    const answer = await reply(s.phone, `Y ${tag}`)
    expect(answer.reply).toContain('opted out')
    expect(answer.reply).not.toContain('Allowed')
    expect((await pollApproval(server, s, asked.body.approval_id as string)).body).toMatchObject({ status: 'pending', decided_by: null })
  })
})

describe('a request texted and answered from the phone', () => {
  it('texts project, tool, command and how to answer; a retry of the same request_id is the same request, texted once', async () => {
    const s = await approvalSession(server, db.sql)
    const requestId = randomUUID()
    const first = await askApproval(server, s, { request_id: requestId, summary: 'npm publish --otp=123456 && curl -H "Authorization: Bearer abcdefghijk12345" x' })
    const again = await askApproval(server, s, { request_id: requestId })
    expect(again.body).toEqual(first.body)
    expect(textsTo(s.phone)).toHaveLength(1)
    const text = textsTo(s.phone)[0]!.body
    const tag = first.body.tag as string
    expect(text).toContain('Claude (api-server): Wants to run: npm publish')
    expect(text).toContain(`Reply Y ${tag} to allow, N ${tag} to deny`)
    expect(text).not.toContain('abcdefghijk12345')
  })

  it('Y <tag> allows: the long poll waiting on it answers with the decision', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    const id = asked.body.approval_id as string
    const poll = pollApproval(server, s, id, 25)
    await pollIsWaiting(server.logs.lines, id)
    const answer = await reply(s.phone, `yes ${(asked.body.tag as string).toLowerCase()}!`)
    expect(answer.reply).toBe(`Allowed Bash (${asked.body.tag}).`)
    const decided = await poll
    expect(decided.status).toBe(200)
    expect(ApprovalState.strict().parse(decided.body)).toMatchObject({ status: 'allowed', decided_by: 'phone', decided_at: clock.now().toISOString() })
  })

  it('N <tag> denies, with a message for Claude that names the masked number; the reply\'s own words go with it', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    await reply(s.phone, `N ${asked.body.tag as string} use yarn instead`)
    const state = (await pollApproval(server, s, asked.body.approval_id as string)).body
    expect(state).toMatchObject({ status: 'denied', decided_by: 'phone', message: `Denied by text from ${maskPhone(s.phone)}: use yarn instead` })
  })

  it('a long poll with nothing decided ends after `wait` seconds with the current state', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    const polled = await pollApproval(server, s, asked.body.approval_id as string, 1)
    expect(polled.body).toMatchObject({ status: 'pending', decided_by: null })
    expect((await pollApproval(server, s, randomUUID())).status).toBe(404)
    expect((await pollApproval(server, s, 'not-an-id')).status).toBe(404)
    expect((await api(server.url, 'GET', `/sessions/${s.id}/approvals/${asked.body.approval_id as string}?wait=31`, { token: s.token })).status).toBe(400)
  })

  it('a question: numbered options, and "2 <tag>" answers with the option\'s label; words answer too', async () => {
    const s = await approvalSession(server, db.sql)
    const questions = [{ question: 'Which database?', options: [{ label: 'PostgreSQL' }, { label: 'MySQL' }] }]
    const asked = await askApproval(server, s, { kind: 'question', tool_name: 'AskUserQuestion', summary: '', questions })
    const tag = asked.body.tag as string
    expect(textsTo(s.phone).at(-1)!.body).toContain(`1 PostgreSQL\n2 MySQL\nReply 2 ${tag} to pick 2`)
    expect((await reply(s.phone, `Y ${tag}`)).reply).toContain(`1 ${tag}`)
    await reply(s.phone, `2 ${tag}`)
    expect((await pollApproval(server, s, asked.body.approval_id as string)).body).toMatchObject({ status: 'answered', decided_by: 'phone', answers: { 'Which database?': 'MySQL' } })

    const words = await askApproval(server, s, { kind: 'question', tool_name: 'AskUserQuestion', summary: '', questions })
    await reply(s.phone, `${words.body.tag as string} use SQLite for now`)
    expect((await pollApproval(server, s, words.body.approval_id as string)).body.answers).toEqual({ 'Which database?': 'use SQLite for now' })
  })
})

describe('which request a reply answers', () => {
  it('a bare Y answers the one pending request texted within the hour; otherwise the reply asks for the tag', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    clock.advance(61 * 60_000)
    expect((await reply(s.phone, 'Y')).reply).toContain(`Which request? Add its tag. Waiting: ${asked.body.tag as string} (Bash)`)
    expect((await pollApproval(server, s, asked.body.approval_id as string)).body.status).toBe('pending')
    await settleApproval(server, s, asked.body.approval_id as string)

    const fresh = await askApproval(server, s)
    expect((await reply(s.phone, 'ok')).reply).toBe(`Allowed Bash (${fresh.body.tag as string}).`)

    const [a, b] = [await approvalSession(server, db.sql, { user: s }), await approvalSession(server, db.sql, { user: s })]
    const [ra, rb] = [await askApproval(server, a), await askApproval(server, b)]
    const both = (await reply(s.phone, 'N')).reply!
    expect(both).toContain(ra.body.tag as string)
    expect(both).toContain(rb.body.tag as string)
    expect((await pollApproval(server, a, ra.body.approval_id as string)).body.status).toBe('pending')
  })

  it('a tag works only from the number it was texted to, and a tag never issued is answered with the pending ones', async () => {
    const s = await approvalSession(server, db.sql)
    const other = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    const tag = asked.body.tag as string
    expect((await reply(other.phone, `Y ${tag}`)).reply).toBe(`No request ${tag} is waiting for you.`)
    const unknown = tag === 'ZZZZ' ? 'ZZZY' : 'ZZZZ'
    expect((await reply(s.phone, `Y ${unknown}`)).reply).toContain(`No request ${unknown} is waiting for you. Waiting: ${tag} (Bash)`)
    expect((await pollApproval(server, s, asked.body.approval_id as string)).body.status).toBe('pending')
  })

  it('a reply for a request already settled says how and when, in the user\'s time zone; the verbs are never answers', async () => {
    const s = await approvalSession(server, db.sql)
    await db.sql`insert into user_settings (user_id, time_zone) values (${s.userId}, 'Europe/Paris') on conflict (user_id) do update set time_zone = 'Europe/Paris'`
    const asked = await askApproval(server, s)
    const tag = asked.body.tag as string
    clock.set(new Date('2026-03-01T13:12:00Z'))
    const settled = await settleApproval(server, s, asked.body.approval_id as string, { settled_at: clock.now().toISOString(), decision: 'allowed' })
    expect(settled.body).toMatchObject({ status: 'settled_elsewhere', decided_by: 'terminal' })
    expect((await reply(s.phone, `Y ${tag}`)).reply).toBe(`${tag} was already allowed at the terminal at 14:12.`)
    expect((await reply(s.phone, `N ${tag}`)).reply).toBe(`${tag} was already allowed at the terminal at 14:12.`)

    const next = await askApproval(server, s)
    for (const verb of ['HELP', 'STATUS', 'YES']) {
      await reply(s.phone, verb)
      expect((await pollApproval(server, s, next.body.approval_id as string)).body.status).toBe('pending')
    }
  })
})

describe('first answer wins', () => {
  it('phone and terminal at the same moment: exactly one decision, and the other is told', async () => {
    for (let round = 0; round < 8; round++) {
      const s = await approvalSession(server, db.sql)
      const asked = await askApproval(server, s)
      const id = asked.body.approval_id as string
      const [phone, terminal] = await Promise.all([reply(s.phone, `N ${asked.body.tag as string}`), settleApproval(server, s, id, { decision: 'allowed' })])
      const final = (await pollApproval(server, s, id)).body
      expect(terminal.body).toEqual(final)
      if (final.decided_by === 'phone') {
        expect(final.status).toBe('denied')
        expect(phone.reply).toBe(`Denied Bash (${asked.body.tag as string}).`)
      } else {
        expect(final).toMatchObject({ status: 'settled_elsewhere', decided_by: 'terminal' })
        expect(phone.reply).toContain('already allowed at the terminal')
      }
    }
  })

  it('the plugin settling after the phone won gets the phone\'s decision', async () => {
    const s = await approvalSession(server, db.sql)
    const asked = await askApproval(server, s)
    await reply(s.phone, `Y ${asked.body.tag as string}`)
    const late = await settleApproval(server, s, asked.body.approval_id as string, { decided_by: 'timeout', decision: 'unknown' })
    expect(late.status).toBe(200)
    expect(late.body).toMatchObject({ status: 'allowed', decided_by: 'phone' })
  })
})

describe('one texted request per session', () => {
  it('later requests are queued and texted when the earlier one is settled; a queued request settled first is never texted', async () => {
    const s = await approvalSession(server, db.sql)
    const first = await askApproval(server, s, { summary: 'first' })
    const second = await askApproval(server, s, { summary: 'second' })
    const third = await askApproval(server, s, { summary: 'third' })
    expect(second.body).toMatchObject({ status: 'queued', sms_sent: false, tag: null })
    expect(textsTo(s.phone)).toHaveLength(1)

    // The terminal answers the third while it waits: it is dropped, not texted late.
    expect((await settleApproval(server, s, third.body.approval_id as string)).body).toMatchObject({ status: 'settled_elsewhere' })
    expect(textsTo(s.phone)).toHaveLength(1)

    await reply(s.phone, `Y ${first.body.tag as string}`)
    expect(textsTo(s.phone)).toHaveLength(2)
    expect(textsTo(s.phone)[1]!.body).toContain('Wants to run: second')
    expect((await pollApproval(server, s, second.body.approval_id as string)).body).toMatchObject({ status: 'pending', sms_sent: true })
    // Requests of another session are not held behind this one.
    const other = await approvalSession(server, db.sql, { user: s })
    expect((await askApproval(server, other)).body.status).toBe('pending')
  })

  it('stopping the session settles its open requests (session_end) and a long poll hears it', async () => {
    const s = await approvalSession(server, db.sql)
    const pending = await askApproval(server, s)
    const queued = await askApproval(server, s)
    const poll = pollApproval(server, s, pending.body.approval_id as string, 25)
    await pollIsWaiting(server.logs.lines, pending.body.approval_id as string)
    const stopped = await api(server.url, 'POST', `/sessions/${s.id}/stop`, { token: s.token, body: { reason: 'session_end', final_state: 'done', ended_at: new Date().toISOString() } })
    expect(stopped.status).toBe(200)
    expect((await poll).body).toMatchObject({ status: 'settled_elsewhere', decided_by: 'session_end' })
    const rows = await db.sql`select status, decided_by from approval_requests where id = ${queued.body.approval_id as string}`
    expect(rows[0]).toEqual({ status: 'settled_elsewhere', decided_by: 'session_end' })
    expect((await reply(s.phone, `Y ${pending.body.tag as string}`)).reply).toContain('ended with its session')
  })

  it('logging out ends the sessions and settles their open requests too', async () => {
    const s = await approvalSession(server, db.sql)
    const pending = await askApproval(server, s)
    expect((await api(server.url, 'POST', '/auth/logout', { token: s.accessToken })).status).toBe(200)
    const rows = await db.sql`select status, decided_by from approval_requests where id = ${pending.body.approval_id as string}`
    expect(rows[0]).toEqual({ status: 'settled_elsewhere', decided_by: 'session_end' })
    expect((await reply(s.phone, `Y ${pending.body.tag as string}`)).reply).toContain('ended with its session')
  })
})

describe('limits and the texting policy', () => {
  it('request texts are not held by the 30-minute limit of waiting texts, but by a daily cap per user (APPROVAL_DAILY_CAP)', async () => {
    const capped = await startTestServer({ sql: db.sql, twilio, clock, name: 'approvals-cap', env: { APPROVAL_DAILY_CAP: '2' } })
    try {
      const s = await approvalSession(capped, db.sql)
      const states = []
      for (let i = 0; i < 3; i++) {
        const asked = await askApproval(capped, s)
        states.push(asked.body)
        if (asked.body.status === 'pending') await settleApproval(capped, s, asked.body.approval_id as string)
      }
      expect(states.map((b) => b.status)).toEqual(['pending', 'pending', 'refused'])
      expect(states[2]).toMatchObject({ refused_reason: 'daily_cap', sms_sent: false })
      expect(textsTo(s.phone)).toHaveLength(2)
      clock.advance(24 * 3_600_000 + 1)
      expect((await askApproval(capped, s)).body.status).toBe('pending')
    } finally {
      await capped.close()
    }
  })

  it('paused: queued and texted once the pause is over (RESUME); opted out (STOP): refused', async () => {
    const s = await approvalSession(server, db.sql)
    await reply(s.phone, 'PAUSE 2h')
    const held = await askApproval(server, s)
    expect(held.body).toMatchObject({ status: 'queued', sms_sent: false })
    await reply(s.phone, 'RESUME')
    expect((await pollApproval(server, s, held.body.approval_id as string)).body).toMatchObject({ status: 'pending', sms_sent: true })
    await settleApproval(server, s, held.body.approval_id as string)

    await reply(s.phone, 'STOP')
    expect((await askApproval(server, s)).body).toMatchObject({ status: 'refused', refused_reason: 'opted_out' })
  })

  it('quiet hours hold request texts like waiting texts: held, unless waiting texts are let through', async () => {
    const s = await approvalSession(server, db.sql)
    await db.sql`insert into user_settings (user_id, quiet_hours_enabled, quiet_start, quiet_end, time_zone)
                 values (${s.userId}, true, '00:00', '23:59', 'UTC') on conflict (user_id) do update set quiet_hours_enabled = true, quiet_start = '00:00', quiet_end = '23:59'`
    const held = await askApproval(server, s)
    expect(held.body).toMatchObject({ status: 'queued', sms_sent: false })
    await db.sql`update user_settings set quiet_allow_waiting = true where user_id = ${s.userId}`
    expect((await pollApproval(server, s, held.body.approval_id as string)).body).toMatchObject({ status: 'pending', sms_sent: true })
  })

  it('bad input is a 400 with the error body; another session\'s token is 404; no token is 401', async () => {
    const s = await approvalSession(server, db.sql)
    const other = await approvalSession(server, db.sql)
    const bad = await api(server.url, 'POST', `/sessions/${s.id}/approvals`, { token: s.token, body: { request_id: 'x', kind: 'vote', tool_name: 'Bash', asked_at: 'yesterday' } })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ error: 'invalid_request', request_id: expect.stringMatching(/^req_/) })
    const asked = await askApproval(server, s)
    expect((await pollApproval(server, { id: s.id, token: other.token }, asked.body.approval_id as string)).status).toBe(404)
    expect((await pollApproval(server, { id: s.id, token: 'nope' }, asked.body.approval_id as string)).status).toBe(401)
    expect((await settleApproval(server, s, asked.body.approval_id as string, { decided_by: 'phone' })).status).toBe(400)
  })
})

describe('the session timeline on the dashboard', () => {
  it('shows each request: asked, texted, settled by whom and when, with the decision and answers', async () => {
    const s = await approvalSession(server, db.sql)
    const allowed = await askApproval(server, s, { summary: 'npm run deploy' })
    await reply(s.phone, `Y ${allowed.body.tag as string}`)
    const question = await askApproval(server, s, { kind: 'question', tool_name: 'AskUserQuestion', questions: [{ question: 'Which database?', options: [{ label: 'PostgreSQL' }, { label: 'MySQL' }] }] })
    await settleApproval(server, s, question.body.approval_id as string, { decision: 'unknown' })
    const dashboard = new DashboardClient(dashboardServer.url)
    await dashboard.signIn(s.phone, twilio)
    const page = await (await dashboard.get(`/dashboard/sessions/${s.id}`)).text()
    expect(page).toMatch(new RegExp(`data-approval-id="${allowed.body.approval_id as string}" data-approval-status="allowed" data-decided-by="phone"`))
    expect(page).toContain('npm run deploy')
    expect(page).toContain('allowed by text')
    expect(page).toMatch(new RegExp(`data-approval-id="${question.body.approval_id as string}" data-approval-status="settled_elsewhere" data-decided-by="terminal"`))
    expect(page).toContain('Settled at the terminal')
  })

  it('is live: the page\'s event stream hears the request asked, and the phone\'s answer, even from another server process', async () => {
    const s = await approvalSession(server, db.sql)
    const dashboard = new DashboardClient(dashboardServer.url)
    await dashboard.signIn(s.phone, twilio)
    const live = await openLiveStream(dashboardServer.url, dashboard.cookieHeader)
    try {
      await live.readUntil(/: connected/)
      // Asked and answered through the other test server: the update travels by LISTEN/NOTIFY.
      const asked = await askApproval(server, s)
      await live.readUntil(new RegExp(`"kind":"approval","monitoringId":"${s.id}"`))
      live.forget()
      await reply(s.phone, `Y ${asked.body.tag as string}`)
      await live.readUntil(new RegExp(`"kind":"approval","monitoringId":"${s.id}"`))
      const page = await (await dashboard.get(`/dashboard/sessions/${s.id}`)).text()
      expect(page).toContain('data-approval-status="allowed"')
    } finally {
      live.close()
    }
  })
})
