import { createHmac } from 'node:crypto'
import type { Sql } from 'postgres'
import { addressKey } from '../http/client-address.js'
import { decideSend, sendRules, type PairingSendLimits, type SendDecision } from './send-limits.js'

// Any constant, the same in every server process: serialises the check-and-record below, so parallel
// requests (in one process or many) cannot both squeeze through the last free slot.
const SEND_LOG_LOCK = 7245100003

/**
 * Keyed hash of the client address as the limits count it (an IPv6 client by its /64): enough to
 * count requests per address without keeping it.
 */
export function hashIp(ip: string, pepper: string): string {
  return createHmac('sha256', pepper).update(`ip:${addressKey(ip)}`).digest('hex')
}

/**
 * Checks every send limit and, when none is full, records the send, in one short transaction under
 * an advisory lock. The provider call happens after this returns, outside the transaction. `paired`
 * (the number belongs to a user) puts the send on the paired numbers' daily budget instead of the
 * global one.
 */
export async function reservePairingSend(
  sql: Sql,
  args: { phoneHash: string; ipHash: string; paired: boolean; now: Date; limits: PairingSendLimits },
): Promise<SendDecision> {
  const { phoneHash, ipHash, paired, now } = args
  const rules = sendRules(args.limits, paired)
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SEND_LOG_LOCK})`
    const observed = []
    for (const rule of rules) {
      const since = new Date(now.getTime() - rule.windowMs)
      const offset = Math.max(0, rule.limit - 1)
      const key =
        rule.scope === 'number' ? tx`and phone_hash = ${phoneHash}` : rule.scope === 'ip' ? tx`and ip_hash = ${ipHash}` : tx`and paired = ${rule.scope === 'paired'}`
      const [row] = await tx<{ sent_at: Date }[]>`
        select sent_at from pairing_sends
        where sent_at > ${since} and sent_at <= ${now} ${key}
        order by sent_at desc offset ${offset} limit 1`
      observed.push({ rule, limitthNewest: row?.sent_at ?? null })
    }
    const decision = decideSend(observed, now)
    if (decision.allowed) {
      await tx`insert into pairing_sends (phone_hash, ip_hash, paired, sent_at) values (${phoneHash}, ${ipHash}, ${paired}, ${now})`
      // Rows older than the longest window count for nothing any more.
      await tx`delete from pairing_sends where sent_at < ${new Date(now.getTime() - 86_400_000)}`
    }
    return decision
  }) as Promise<SendDecision>
}
