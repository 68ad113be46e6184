import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runNestedVitest } from '../support/nested-vitest.js'

describe('a failing test fails the run', () => {
  it('exits non-zero even though the embedded PostgreSQL was loaded', async () => {
    // Its own output directory: its end-of-run log scan must not read this run's logs half-written.
    // DATABASE_URL removed: the global setup takes its embedded PostgreSQL path.
    const { code, output } = await runNestedVitest('test/fixtures/failing-suite/vitest.config.ts', {
      CLAUDE_SMS_TEST_OUTPUT: mkdtempSync(join(tmpdir(), 'claude-sms-failing-')),
      DATABASE_URL: undefined,
    })
    expect(output).toMatch(/1 failed/)
    expect(code, output).toBe(1)
  }, 60_000)
})
