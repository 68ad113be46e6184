import type { Sql } from 'postgres'
import { hashPhone, maskPhone } from './phone.js'

export interface User {
  id: string
  phoneE164: string
  phoneMasked: string
  optedOutAt: Date | null
  pausedUntil: Date | null
}

type UserRow = { id: string; phone_e164: string; phone_masked: string; opted_out_at: Date | null; paused_until: Date | null }
const toUser = (r: UserRow): User => ({ id: r.id, phoneE164: r.phone_e164, phoneMasked: r.phone_masked, optedOutAt: r.opted_out_at, pausedUntil: r.paused_until })

/** The user with this E.164 number, created on first pairing. */
export async function findOrCreateUser(sql: Sql, phoneE164: string, pepper: string): Promise<User> {
  const [row] = await sql<UserRow[]>`
    insert into users (phone_e164, phone_hash, phone_masked)
    values (${phoneE164}, ${hashPhone(phoneE164, pepper)}, ${maskPhone(phoneE164)})
    on conflict (phone_e164) do update set phone_e164 = excluded.phone_e164
    returning id, phone_e164, phone_masked, opted_out_at, paused_until`
  return toUser(row!)
}

export async function findUserByPhone(sql: Sql, phoneE164: string, pepper: string): Promise<User | undefined> {
  const [row] = await sql<UserRow[]>`
    select id, phone_e164, phone_masked, opted_out_at, paused_until from users where phone_hash = ${hashPhone(phoneE164, pepper)}`
  return row ? toUser(row) : undefined
}
