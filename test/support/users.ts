import type { Sql } from 'postgres'
import { createAccessTokens } from '../../server/auth/access-tokens.js'
import { systemClock, type Clock } from '../../server/clock.js'
import type { Config } from '../../server/config.js'
import { findOrCreateUser, type User } from '../../server/users.js'
import { recordSecret } from './secrets.js'

let counter = 0
/** A fresh, valid US mobile-format number per call (unique within a test file), never a Twilio magic number. */
export function testPhone(): string {
  counter++
  const phone = `+1415555${String(1000 + (counter % 9000)).padStart(4, '0')}`
  recordSecret('phone', phone)
  return phone
}

/** A user as if pairing had already happened, with a valid access token. */
export async function pairedUser(sql: Sql, config: Config, opts: { phone?: string; clock?: Clock } = {}): Promise<{ user: User; accessToken: string; jti: string }> {
  const user = await findOrCreateUser(sql, opts.phone ?? testPhone(), config.pepper)
  const tokens = createAccessTokens({ sql, secret: config.jwtSecret, clock: opts.clock ?? systemClock })
  const issued = await tokens.issue(user.id)
  recordSecret('phone', user.phoneE164)
  recordSecret('token', issued.accessToken)
  return { user, accessToken: issued.accessToken, jti: issued.jti }
}
