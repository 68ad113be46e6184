import { appendFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'

/** Where the suite writes what it leaves for the end-of-run checks (CLAUDE_SMS_TEST_OUTPUT overrides). */
export function testOutputDir(): string {
  return process.env.CLAUDE_SMS_TEST_OUTPUT || 'test-output'
}

export type SecretKind = 'phone' | 'code' | 'token'

/**
 * Notes a secret the test support code has seen (a number used, a code read from a text, a token
 * issued) in test-output/secrets/, so the scan after the whole run (test/support/log-scan.ts) looks
 * for exactly these in every log line the suite wrote.
 */
export function recordSecret(kind: SecretKind, value: string | undefined | null): void {
  if (!value) return
  const dir = join(testOutputDir(), 'secrets')
  mkdirSync(dir, { recursive: true })
  appendFileSync(join(dir, `${process.pid}.ndjson`), `${JSON.stringify({ kind, value })}\n`)
}
