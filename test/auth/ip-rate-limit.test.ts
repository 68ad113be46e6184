import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { DEFAULT_IP_RATE_LIMIT } from '../../server/http/ip-rate-limit.js'
import { useTestDatabase } from '../support/db.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
let twilio: TwilioEndpoint
let server: TestServer

beforeAll(async () => {
  twilio = await startTwilioEndpoint()
  // The production default (DESIGN §5: 100 requests per minute per address), not the raised test limit.
  server = await startTestServer({ sql: db.sql, twilio, clock, name: 'auth-ip-rate-limit', ipRateLimit: DEFAULT_IP_RATE_LIMIT })
})
afterAll(async () => {
  await server.close()
  await twilio.close()
})

const from = (ip: string) => ({ 'x-forwarded-for': ip })
const exchange = (ip: string) =>
  fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json', ...from(ip) }, body: JSON.stringify({ temp_token: 'x', pairing_code: '123456' }) })

async function spend(ip: string, count: number): Promise<number[]> {
  const statuses: number[] = []
  // In small batches: bounded concurrency on a shared machine.
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(Array.from({ length: Math.min(10, count - i) }, () => exchange(ip)))
    statuses.push(...batch.map((r) => r.status))
  }
  return statuses
}

describe('100 requests per minute per address', () => {
  it('the 101st request in a minute is 429 rate_limited with Retry-After; the next minute is open again', async () => {
    const statuses = await spend('192.0.2.10', 100)
    expect(statuses.every((s) => s === 401)).toBe(true)
    clock.advance(15_000)
    const limited = await exchange('192.0.2.10')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('45')
    const body = ErrorBody.parse(await limited.json())
    expect(body.error).toBe('rate_limited')
    expect(body.details).toEqual({ retry_after: 45 })
    // Every route counts, pages and unknown paths too.
    expect((await fetch(`${server.url}/login?state=abcdefgh&callback_uri=http://127.0.0.1:1/`, { headers: from('192.0.2.10') })).status).toBe(429)
    expect((await fetch(`${server.url}/no-such-route`, { headers: from('192.0.2.10') })).status).toBe(429)

    clock.advance(45_000)
    expect((await exchange('192.0.2.10')).status).toBe(401)
  })

  it('another address has its own count', async () => {
    await spend('192.0.2.20', 101)
    expect((await exchange('192.0.2.20')).status).toBe(429)
    expect((await exchange('192.0.2.21')).status).toBe(401)
  })

  it('health checks and Twilio webhooks are never limited', async () => {
    await spend('192.0.2.30', 101)
    const health = await fetch(`${server.url}/healthz`, { headers: from('192.0.2.30') })
    expect(health.status).toBe(200)
    const webhook = await fetch(`${server.url}/twilio/status`, { method: 'POST', headers: from('192.0.2.30') })
    expect(webhook.status).not.toBe(429)
  })
})
