import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { runNestedVitest } from '../support/nested-vitest.js'

// The whole suite's log output is scanned after the last test file (test/global-setup.ts): a full
// phone number, a pairing code or a token anywhere fails `npm test`. Here the real global setup runs
// a small suite that passes but leaks one planted secret, and the run must fail because of it.

async function runLeakySuite(plant: string) {
  return runNestedVitest('test/fixtures/leaky-suite/vitest.config.ts', {
    CLAUDE_SMS_PLANT: plant,
    CLAUDE_SMS_TEST_OUTPUT: mkdtempSync(join(tmpdir(), 'claude-sms-leaky-')),
    DATABASE_URL: inject('databaseUrl'),
    CLAUDE_SMS_KEEP_TEST_LOGS: undefined,
  })
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
