import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { SecretKind } from './secrets.js'

export interface LeakFinding {
  file: string
  line: number
  kind: string
  /** The line around the find, with the secret itself blanked out (the report must not leak it again). */
  excerpt: string
}

// What a secret looks like even when no support code saw it: a full E.164 number (the logger writes
// "+1***8912"), a JWT (header.payload. always starts eyJ...eyJ, signature or not).
const GENERIC: { kind: string; pattern: RegExp }[] = [
  { kind: 'unmasked phone number', pattern: /(?<![\w*+])\+[1-9]\d{6,14}(?!\d)/g },
  { kind: 'JWT', pattern: /\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]*/g },
]

function readSecrets(dir: string): Map<string, SecretKind> {
  const seen = new Map<string, SecretKind>()
  if (!existsSync(dir)) return seen
  for (const name of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue
      const { kind, value } = JSON.parse(line) as { kind: SecretKind; value: string }
      // Short values would match by chance; a code is 6 digits, tokens and numbers are longer.
      if (value.length >= 6) seen.set(value, kind)
    }
  }
  return seen
}

// Candidates in a line, each looked up among the recorded secrets (one pass per line, however many
// secrets the run recorded): opaque tokens, numbers with or without "+", and 6-digit codes written as
// text or in a string (not a bare JSON number such as "pid":123456, nor six digits inside a word such as
// a uuid's "bf041265", which only happen to match).
const CANDIDATES: RegExp[] = [/[\w-]{16,}/g, /\+?\d{7,15}(?!\d)/g, /(?<![\w:])\d{6}(?!\w)/g]

function blank(line: string, index: number, length: number): string {
  const start = Math.max(0, index - 60)
  return `${line.slice(start, index)}[${length} chars]${line.slice(index + length, index + length + 60)}`
}

/**
 * Every log line the suite wrote (test-output/logs/*) against every secret the support code recorded
 * (test-output/secrets/*) and the generic patterns. Run once after all test files (test/global-setup.ts).
 */
export function scanTestLogs(outputDir: string): LeakFinding[] {
  const logDir = join(outputDir, 'logs')
  if (!existsSync(logDir)) return []
  const secrets = readSecrets(join(outputDir, 'secrets'))
  const findings: LeakFinding[] = []
  for (const name of readdirSync(logDir).sort()) {
    const file = join(logDir, name)
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const found = (kind: string, index: number, length: number) => findings.push({ file, line: i + 1, kind, excerpt: blank(line, index, length) })
        for (const { kind, pattern } of GENERIC) {
          pattern.lastIndex = 0
          const m = pattern.exec(line)
          if (m) found(kind, m.index, m[0].length)
        }
        if (!secrets.size) return
        for (const candidates of CANDIDATES) {
          for (const m of line.matchAll(candidates)) {
            const kind = secrets.get(m[0]) ?? secrets.get(`+${m[0]}`)
            if (kind) found(`recorded ${kind}`, m.index, m[0].length)
          }
        }
      })
  }
  return findings
}

export function describeFindings(findings: LeakFinding[]): string {
  const shown = findings.slice(0, 20).map((f) => `  ${f.file}:${f.line} ${f.kind}: ${f.excerpt}`)
  return [`${findings.length} secret(s) found in the test suite's log output:`, ...shown, ...(findings.length > 20 ? [`  ... and ${findings.length - 20} more`] : [])].join('\n')
}
