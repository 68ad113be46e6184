import { randomBytes } from 'node:crypto'
import type { Sql } from 'postgres'
import type { ApprovalRow } from '../../server/approvals/store.js'
import { hashPhone } from '../../server/phone.js'
import { twilioPost } from './monitoring.js'
import { TWILIO_FROM } from './server.js'
import type { TwilioEndpoint } from './twilio-endpoint.js'
import { until } from './until.js'

/**
 * The person's phone in the plugin's tests against the real server: it reads the request texts the
 * server sent (to the local Twilio endpoint) and answers them with signed inbound webhooks, the way
 * Twilio forwards a reply.
 */
export interface Phone {
  number: string
  /** Every text this phone received so far. */
  texts(): string[]
  /** The next text to arrive after the `seen` first ones (default: those received so far). */
  nextText(seen?: number): Promise<string>
  /** The next request text (one that carries a tag), its tag, and the request as the server stored it. */
  nextRequest(seen?: number): Promise<{ text: string; tag: string; row: ApprovalRow }>
  /** Replies by text (signed webhook to POST /twilio/inbound); resolves with what the server texts back. */
  reply(body: string, serverUrl?: string): Promise<string | null>
}

const TAG = /Reply Y ([0-9A-Z]{4}) to allow|Reply \d ([0-9A-Z]{4}) to pick|Reply ([0-9A-Z]{4}) [\d:,]+/

/** The tag of a request text (a permission request or a question), or undefined for any other text. */
function requestTag(text: string): string | undefined {
  const m = TAG.exec(text)
  return m ? (m[1] ?? m[2] ?? m[3])! : undefined
}

/** A text from a phone as Twilio forwards it, signed; the same MessageSid may be given to replay it. */
export async function textFromPhone(twilio: TwilioEndpoint, server: { url: string }, from: string, body: string, messageSid = `SM${randomBytes(16).toString('hex')}`) {
  const res = await twilioPost(twilio, `${server.url}/twilio/inbound`, { MessageSid: messageSid, AccountSid: twilio.accountSid, From: from, To: TWILIO_FROM, Body: body, NumMedia: '0' })
  const reply = /<Message>([\s\S]*?)<\/Message>/.exec(res.text)?.[1]?.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&') ?? null
  return { ...res, reply, messageSid }
}

/** The tag of the latest request text to this number. */
export function tagTextedTo(twilio: TwilioEndpoint, phone: string): string {
  const texts = twilio.messages.filter((m) => m.to === phone).map((m) => m.body)
  for (const body of texts.reverse()) {
    const tag = requestTag(body)
    if (tag) return tag
  }
  throw new Error(`no request text to this number (${texts.length} texts)`)
}

export function phoneOf(deps: { twilio: TwilioEndpoint; sql: Sql; server: { url: string; config: { pepper: string } } }, number: string): Phone {
  const { twilio, sql } = deps
  const texts = () => twilio.messages.filter((m) => m.to === number).map((m) => m.body)
  async function nextText(seen = texts().length): Promise<string> {
    for (let n = twilio.messages.length + 1; texts().length <= seen; n++) await twilio.waitForMessages(n, 30_000)
    return texts()[seen]!
  }
  return {
    number,
    texts,
    nextText,
    async nextRequest(seen = texts().length) {
      for (let i = seen; ; i++) {
        const text = await nextText(i)
        const tag = requestTag(text)
        if (!tag) continue
        // A tag is unique per person, not across people: the request texted to this number.
        const [row] = await sql<ApprovalRow[]>`
          select * from approval_requests where tag = ${tag} and texted_to_hash = ${hashPhone(number, deps.server.config.pepper)} order by texted_at desc limit 1`
        if (!row) throw new Error(`no approval request with tag ${tag}`)
        return { text, tag, row }
      }
    },
    async reply(body, serverUrl = deps.server.url) {
      return (await textFromPhone(twilio, { url: serverUrl }, number, body)).reply
    },
  }
}

/** The request as it is now in the database. */
export async function approvalRow(sql: Sql, approvalId: string): Promise<ApprovalRow> {
  const [row] = await sql<ApprovalRow[]>`select * from approval_requests where id = ${approvalId}`
  if (!row) throw new Error(`no approval request ${approvalId}`)
  return row
}

/**
 * Resolves with the request once it is settled: the plugin's settle reaches the server after the hook
 * is over, and no event tells the test, so the row is read every 50 ms for at most 15 s.
 */
export async function settledRow(sql: Sql, approvalId: string): Promise<ApprovalRow> {
  let row: ApprovalRow | undefined
  const settled = async () => {
    row = await approvalRow(sql, approvalId)
    return row.status !== 'pending' && row.status !== 'queued'
  }
  await until(() => `approval request ${approvalId} is settled: still ${row?.status} after 15 s`, settled, 15_000)
  return row!
}

/** Resolves with the session's requests once the plugin posted `count` of them (read every 50 ms, at most 15 s). */
export async function requestsPosted(sql: Sql, sessionId: string, count: number): Promise<ApprovalRow[]> {
  let rows: ApprovalRow[] = []
  const posted = async () => {
    rows = await sql<ApprovalRow[]>`select * from approval_requests where session_id = ${sessionId} order by created_at, id`
    return rows.length >= count
  }
  await until(() => `${count} approval requests are posted: ${rows.length} after 15 s`, posted, 15_000)
  return rows
}
