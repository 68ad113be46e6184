import type { Sql } from 'postgres'

/**
 * Twilio retries a webhook it got no answer to, and anyone holding a signed request can send it again:
 * the signature covers the body, not the moment. Each MessageSid is acted on once; a replay gets the
 * first answer back and changes nothing (a PAUSE is not extended, a STOP not re-applied after START,
 * an approval reply not applied twice).
 */
export async function claimInboundMessage(sql: Sql, messageSid: string, now: Date): Promise<{ first: true } | { first: false; reply: string | null }> {
  const [claimed] = await sql`insert into inbound_messages (message_sid, received_at) values (${messageSid}, ${now}) on conflict (message_sid) do nothing returning 1`
  if (claimed) return { first: true }
  const [seen] = await sql<{ reply: string | null }[]>`select reply from inbound_messages where message_sid = ${messageSid}`
  return { first: false, reply: seen?.reply ?? null }
}

export async function rememberInboundReply(sql: Sql, messageSid: string, reply: string): Promise<void> {
  await sql`update inbound_messages set reply = ${reply} where message_sid = ${messageSid}`
}
