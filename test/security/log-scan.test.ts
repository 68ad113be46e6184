import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'

// The whole suite's log output is scanned after the last test file (test/global-setup.ts): a full
// phone number, a pairing code or a token anywhere fails `npm test`. Here the real global setup runs
// a small suite that passes but leaks one planted secret, and the run must fail because of it.

async function runLeakySuite(plant: string) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CLAUDE_SMS_PLANT: plant, CLAUDE_SMS_TEST_OUTPUT: mkdtempSync(join(tmpdir(), 'claude-sms-leaky-')), DATABASE_URL: inject('databaseUrl') }
  delete env.CLAUDE_SMS_KEEP_TEST_LOGS
  delete env.VITEST
  delete env.VITEST_POOL_ID
  delete env.VITEST_WORKER_ID
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/leaky-suite/vitest.config.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output }
}

describe('the scan of all log output', () => {
  it('passes a run whose logs hold no secret', async () => {
    const { code, output } = await runLeakySuite('nothing')
    expect(output).toMatch(/1 passed/)
    expect(code, output).toBe(0)
  }, 60_000)

  for (const [plant, kind] of [
    ['code', 'recorded code'],
    ['token', 'recorded token'],
    ['phone', 'unmasked phone number'],
  ] as const) {
    it(`fails the run when a ${plant} reaches a log, naming the file and line but not the secret`, async () => {
      const { code, output } = await runLeakySuite(plant)
      expect(output).toMatch(/1 passed/)
      expect(output).toMatch(new RegExp(`secret\\(s\\) found in the test suite's log output:[\\s\\S]*${kind}`))
      expect(output).not.toMatch(/493817|Qm9ndXMtc2Vzc2lvbi10b2tlbi1mb3ItdGhlLXNjYW4|\+14155550123/)
      expect(code, output).not.toBe(0)
    }, 60_000)
  }
})
