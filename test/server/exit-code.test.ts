import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

describe('a failing test fails the run', () => {
  it('exits non-zero even though the embedded PostgreSQL was loaded', async () => {
    // Its own output directory: its end-of-run log scan must not read this run's logs half-written.
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CLAUDE_SMS_TEST_OUTPUT: mkdtempSync(join(tmpdir(), 'claude-sms-failing-')) }
    delete env.DATABASE_URL // force the embedded PostgreSQL path of the global setup
    delete env.VITEST
    delete env.VITEST_POOL_ID
    delete env.VITEST_WORKER_ID
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/failing-suite/vitest.config.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const [code] = await once(child, 'exit')
    expect(output).toMatch(/1 failed/)
    expect(code, output).toBe(1)
  }, 60_000)
})
