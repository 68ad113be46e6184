import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorBody } from '../../contract/api.js'
import { manualClock } from '../../server/clock.js'
import { addressKey, parseTrustProxy, proxyNotTrusted } from '../../server/http/client-address.js'
import { useTestDatabase } from '../support/db.js'
import { postJson } from '../support/pairing.js'
import { spawnServer } from '../support/process.js'
import { startTestServer, TEST_JWT_SECRET, testConfig, useTwilioEndpoint, type TestServer } from '../support/server.js'
import { testPhone } from '../support/users.js'

const db = useTestDatabase()
const clock = manualClock(new Date('2026-03-02T09:00:00Z'))
const twilio = useTwilioEndpoint()

// Three requests per minute per address, so that a handful of requests shows whom the server counts.
const LIMIT = 3
const servers: TestServer[] = []
async function serverWith(trustProxy: string | undefined, name: string) {
  const server = await startTestServer({ sql: db.sql, twilio, clock, name, env: { TRUST_PROXY: trustProxy }, ipRateLimit: { limit: LIMIT } })
  servers.push(server)
  return server
}
afterAll(async () => {
  for (const s of servers) await s.close()
})

const probe = (server: TestServer, forwardedFor?: string) =>
  fetch(`${server.url}/no-such-route`, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}, signal: AbortSignal.timeout(10_000) }).then((r) => r.status)

/** Spends the address's LIMIT requests of this minute, then answers whether the next one is refused. */
async function limitedAfterSpending(server: TestServer, spend: string[], next: string): Promise<boolean> {
  for (const forwardedFor of spend) expect(await probe(server, forwardedFor)).toBe(404)
  return (await probe(server, next)) === 429
}

describe('TRUST_PROXY unset (the default): nobody is believed about the client address', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith(undefined, 'proxy-trust-off')
    clock.advance(60_000)
  })

  it('a client that makes up a new X-Forwarded-For for every request is still counted as itself', async () => {
    const res = await fetch(`${server.url}/no-such-route`, { headers: { 'x-forwarded-for': '198.51.100.99' } })
    expect(res.status).toBe(404)
    expect(await limitedAfterSpending(server, ['198.51.100.1', '198.51.100.2'], '198.51.100.3')).toBe(true)
    const refused = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.4' }, body: '{}' })
    expect(refused.status).toBe(429)
    expect(ErrorBody.parse(await refused.json()).error).toBe('rate_limited')
  })

  it('nor can it escape the hourly pairing-code limit per address', async () => {
    clock.advance(3_600_000)
    const capped = await startTestServer({ sql: db.sql, twilio, clock, name: 'proxy-trust-off-codes', env: { TRUST_PROXY: undefined }, pairingLimits: { perIpPerHour: 2 } })
    servers.push(capped)
    const ask = (forwardedFor: string) => postJson(`${capped.url}/login`, { phone: testPhone(), state: 'proxy-trust', mode: 'remote' }, { 'x-forwarded-for': forwardedFor })
    expect((await ask('198.51.100.11')).status).toBe(200)
    expect((await ask('198.51.100.12')).status).toBe(200)
    const third = await ask('198.51.100.13')
    expect(third.status).toBe(429)
    expect(ErrorBody.parse(await third.json()).details.limit).toBe('ip')
  })
})

describe('TRUST_PROXY names the proxy in front (nginx or Caddy on the same computer)', () => {
  it('loopback: the address the proxy appended counts, whatever the client put before it', async () => {
    const server = await serverWith('loopback', 'proxy-trust-loopback')
    clock.advance(60_000)
    // nginx's $proxy_add_x_forwarded_for: the client's own header, then the address nginx saw.
    expect(await limitedAfterSpending(server, ['1.1.1.1, 203.0.113.50', '2.2.2.2, 203.0.113.50', '203.0.113.50'], '3.3.3.3, 203.0.113.50')).toBe(true)
    expect(await probe(server, '203.0.113.51')).toBe(404)
  })

  it('a hop count of 1: the last address in X-Forwarded-For counts', async () => {
    const server = await serverWith('1', 'proxy-trust-hops')
    clock.advance(60_000)
    expect(await limitedAfterSpending(server, ['9.9.9.1, 203.0.113.60', '9.9.9.2, 203.0.113.60', '9.9.9.3, 203.0.113.60'], '9.9.9.4, 203.0.113.60')).toBe(true)
    expect(await probe(server, '203.0.113.60, 203.0.113.61')).toBe(404)
  })

  it('a proxy address that is not the peer: the header of a request from elsewhere is ignored', async () => {
    const server = await serverWith('10.20.30.40, 192.168.0.0/16', 'proxy-trust-list')
    clock.advance(60_000)
    expect(await limitedAfterSpending(server, ['203.0.113.70', '203.0.113.71', '203.0.113.72'], '203.0.113.73')).toBe(true)
  })
})

describe('IPv6 clients are counted by their /64', () => {
  let server: TestServer
  beforeAll(async () => {
    server = await serverWith('loopback', 'proxy-trust-ipv6')
  })

  it('addresses of one /64 share one count; the next /64 has its own', async () => {
    clock.advance(60_000)
    expect(await limitedAfterSpending(server, ['2001:db8:aa:1::1', '2001:db8:aa:1::2', '2001:db8:aa:1:ffff:ffff:ffff:ffff'], '2001:db8:aa:1:1234::9')).toBe(true)
    expect(await probe(server, '2001:db8:aa:2::1')).toBe(404)
  })

  it('an IPv4-mapped IPv6 address is counted as its IPv4 address', async () => {
    clock.advance(60_000)
    expect(await limitedAfterSpending(server, ['192.0.2.77', '::ffff:192.0.2.77', '192.0.2.77'], '::ffff:c000:24d')).toBe(true)
  })

  it('the hourly pairing-code limit per address counts the /64 too', async () => {
    clock.advance(3_600_000)
    const capped = await startTestServer({ sql: db.sql, twilio, clock, name: 'proxy-trust-ipv6-codes', pairingLimits: { perIpPerHour: 2 } })
    servers.push(capped)
    const ask = (forwardedFor: string) => postJson(`${capped.url}/login`, { phone: testPhone(), state: 'proxy-trust', mode: 'remote' }, { 'x-forwarded-for': forwardedFor })
    expect((await ask('2001:db8:bb:1::1')).status).toBe(200)
    expect((await ask('2001:db8:bb:1::2')).status).toBe(200)
    expect((await ask('2001:db8:bb:1::3')).status).toBe(429)
    expect((await ask('2001:db8:bb:2::1')).status).toBe(200)
  })

  it('the key (pure)', () => {
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64')
    expect(addressKey('2001:0DB8:0001:0002::abcd')).toBe('2001:db8:1:2::/64')
    expect(addressKey('fe80::1%eth0')).toBe('fe80::/64')
    expect(addressKey('::1')).toBe('::/64')
    expect(addressKey('::ffff:198.51.100.7')).toBe('198.51.100.7')
    expect(addressKey('198.51.100.7')).toBe('198.51.100.7')
    expect(addressKey(undefined)).toBe('unknown')
  })
})

describe('TRUST_PROXY values', () => {
  it('reads the forms Express knows: none, a hop count, loopback, addresses and CIDR ranges', () => {
    expect(testConfig({ TRUST_PROXY: undefined }).trustProxy).toBe(false)
    expect(testConfig({ TRUST_PROXY: '' }).trustProxy).toBe(false)
    expect(testConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false)
    expect(testConfig({ TRUST_PROXY: '0' }).trustProxy).toBe(false)
    expect(testConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2)
    expect(testConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toEqual(['loopback'])
    expect(testConfig({ TRUST_PROXY: ' loopback, 10.0.0.0/8 ,fd00::/8, 192.0.2.1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1'])
  })

  it('start-up warns when the server listens on loopback behind a public address without TRUST_PROXY (pure)', () => {
    expect(proxyNotTrusted({ host: '127.0.0.1', publicUrl: 'https://sms.example.com', trustProxy: false })).toBe(true)
    expect(proxyNotTrusted({ host: '127.0.0.1', publicUrl: 'https://sms.example.com', trustProxy: ['loopback'] })).toBe(false)
    expect(proxyNotTrusted({ host: '127.0.0.1', publicUrl: 'http://127.0.0.1:8787', trustProxy: false })).toBe(false)
    expect(proxyNotTrusted({ host: '0.0.0.0', publicUrl: 'https://sms.example.com', trustProxy: false })).toBe(false)
  })

  it('the real server given TRUST_PROXY=true stops at start with that one line', async () => {
    const s = spawnServer({ PORT: '0', JWT_SECRET: TEST_JWT_SECRET, TRUST_PROXY: 'true', DATA_DIR: mkdtempSync(join(tmpdir(), 'cfg-')) })
    expect((await s.exited).code).toBe(1)
    expect(s.lines).toHaveLength(1)
    expect(s.lines[0]).toMatch(/^Invalid configuration: TRUST_PROXY must name the proxy in front of the server/)
  })

  for (const bad of ['true', '*', 'proxy.example.com', '10.0.0.0/33', '300.1.1.1', '11', 'loopback, nope']) {
    it(`${JSON.stringify(bad)} stops start-up with one line naming TRUST_PROXY`, () => {
      let message = ''
      try {
        testConfig({ TRUST_PROXY: bad })
      } catch (e) {
        message = (e as Error).message
      }
      expect(message).toMatch(/^Invalid configuration: TRUST_PROXY /)
      expect(message).not.toContain('\n')
      expect(parseTrustProxy(bad).ok).toBe(false)
    })
  }
})
