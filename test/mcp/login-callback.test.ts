import { describe, expect, it } from 'vitest'
import { startLoginCallback } from '../../mcp/login-callback.js'
import { createMcpLogger } from '../../mcp/log.js'

const get = (url: string) => fetch(url, { signal: AbortSignal.timeout(5_000) })

describe('the loopback pairing callback', () => {
  it('keeps the temp token of the one request with our state, ignores others, then closes', async () => {
    const cb = await startLoginCallback({ state: 'state-abcdefgh', ttlMs: 60_000, log: createMcpLogger('silent') })
    expect(cb.callbackUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/)
    expect((await get(`${cb.callbackUri}?temp_token=evil&state=other-state`)).status).toBe(400)
    expect((await get(`${cb.callbackUri.replace('/callback', '/elsewhere')}?temp_token=evil&state=state-abcdefgh`)).status).toBe(400)
    expect(cb.result()).toBeUndefined()
    const waiting = cb.wait(5_000)
    const ok = await get(`${cb.callbackUri}?temp_token=tt_1&phone=%2B1***8912&state=state-abcdefgh`)
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('/sms-notifier:sms-pair')
    expect(await waiting).toEqual({ temp_token: 'tt_1', phone: '+1***8912' })
    await expect(get(`${cb.callbackUri}?temp_token=tt_2&state=state-abcdefgh`)).rejects.toThrow()
  })

  it('gives up after its time to live', async () => {
    const cb = await startLoginCallback({ state: 'state-abcdefgh', ttlMs: 1, log: createMcpLogger('silent') })
    expect(await cb.wait(5_000)).toBeUndefined()
    expect(cb.isOpen()).toBe(false)
    await expect(get(`${cb.callbackUri}?temp_token=tt&state=state-abcdefgh`)).rejects.toThrow()
  })
})
