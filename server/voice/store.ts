import type { Sql } from 'postgres'
import { isUuid } from '../db/uuid.js'

/** One call as stored (migration 0015_voice.sql). */
export interface CallRow {
  id: string
  user_id: string
  session_id: string
  approval_id: string | null
  event_id: string | null
  to_masked: string
  to_hash: string
  script: string
  transport: string
  status: string
  provider_sid: string | null
  duration_seconds: number | null
  keypress: string | null
  outcome: string | null
  error_message: string | null
  created_at: Date
  updated_at: Date
}

export async function findCall(sql: Sql, callId: string): Promise<CallRow | undefined> {
  if (!isUuid(callId)) return undefined
  const [row] = await sql<CallRow[]>`select * from voice_calls where id = ${callId}`
  return row
}

/** Calls placed for a user in the 24 hours before `now` (those refused before the provider do not count). */
export async function callsInLastDay(sql: Sql, userId: string, now: Date): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from voice_calls
    where user_id = ${userId} and created_at > ${new Date(now.getTime() - 86_400_000)} and status <> 'not_placed'`
  return row?.n ?? 0
}

/** Moves a call's status forward only (voice_status_rank); returns the row when it changed. */
export async function advanceCallStatus(sql: Sql, providerSid: string, s: { status: string; durationSeconds?: number; at: Date }): Promise<CallRow | undefined> {
  const [row] = await sql<CallRow[]>`
    update voice_calls
    set status = case when voice_status_rank(${s.status}) > voice_status_rank(status) then ${s.status} else status end,
        duration_seconds = coalesce(${s.durationSeconds ?? null}::integer, duration_seconds), updated_at = ${s.at}
    where provider_sid = ${providerSid}
      and (voice_status_rank(${s.status}) > voice_status_rank(status) or (${s.durationSeconds ?? null}::integer is not null and duration_seconds is null))
    returning *`
  return row
}
