import type { Sql } from 'postgres'
import { MAX_PAIRING_ATTEMPTS } from '../../contract/api.js'

/** The rows of pairing_requests (0003_pairing.sql): one per code sent. */

/**
 * What a code was sent for (0005_dashboard.sql): pairing the plugin, or signing in to the dashboard. A
 * code only works for its own purpose.
 */
export type CodePurpose = 'pairing' | 'dashboard'

export async function createPairingRequest(
  sql: Sql,
  r: { tempTokenHash: string; codeHash: string; phoneE164: string; phoneMasked: string; now: Date; expiresAt: Date; purpose?: CodePurpose },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into pairing_requests (temp_token_hash, code_hash, phone_e164, phone_masked, created_at, expires_at, purpose)
    values (${r.tempTokenHash}, ${r.codeHash}, ${r.phoneE164}, ${r.phoneMasked}, ${r.now}, ${r.expiresAt}, ${r.purpose ?? 'pairing'})
    returning id`
  // Requests a day past their expiry are of no use to anyone.
  await sql`delete from pairing_requests where expires_at < ${new Date(r.now.getTime() - 86_400_000)}`
  return row!.id
}

/** The text never left: the temp token must not work. */
export async function voidPairingRequest(sql: Sql, id: string, now: Date): Promise<void> {
  await sql`update pairing_requests set voided_at = ${now} where id = ${id}`
}

export interface PairingAttempt {
  id: string
  codeHash: string
  attempts: number
  phoneE164: string
  phoneMasked: string
}

/**
 * Takes one of the temp token's attempts, atomically, before the code is compared: the row is only
 * updated while fewer than MAX_PAIRING_ATTEMPTS were used, so parallel guesses can never use more.
 * Undefined when the token is unknown, used, voided, expired or out of attempts.
 */
export async function takePairingAttempt(sql: Sql, tempTokenHash: string, now: Date, purpose: CodePurpose = 'pairing'): Promise<PairingAttempt | undefined> {
  const [row] = await sql<{ id: string; code_hash: string; attempts: number; phone_e164: string; phone_masked: string }[]>`
    update pairing_requests set attempts = attempts + 1
    where temp_token_hash = ${tempTokenHash} and purpose = ${purpose}
      and consumed_at is null and voided_at is null
      and expires_at > ${now}
      and attempts < ${MAX_PAIRING_ATTEMPTS}
    returning id, code_hash, attempts, phone_e164, phone_masked`
  return row ? { id: row.id, codeHash: row.code_hash, attempts: row.attempts, phoneE164: row.phone_e164, phoneMasked: row.phone_masked } : undefined
}

/** Whether a temp token was ever issued (for telling "expired" from "never valid"). */
export async function pairingRequestExists(sql: Sql, tempTokenHash: string): Promise<boolean> {
  const [row] = await sql`select 1 from pairing_requests where temp_token_hash = ${tempTokenHash}`
  return row !== undefined
}

/** Marks the code used; false when another request used it first (a code works once). */
export async function consumePairingRequest(sql: Sql, id: string, now: Date): Promise<boolean> {
  const rows = await sql`update pairing_requests set consumed_at = ${now} where id = ${id} and consumed_at is null returning id`
  return rows.length === 1
}
