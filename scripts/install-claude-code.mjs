#!/usr/bin/env node
// Installs the pinned Claude Code CLI into .cache/claude-code for the end-to-end suite (test/e2e/).
// It is a test tool, not a dependency of the product: the product never runs it. CI runs this before
// `npm test`; the suite runs it too when the CLI is missing. Prints the path of the `claude` binary.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

const CLAUDE_CODE_VERSION = '2.1.332'
const root = resolve(import.meta.dirname, '..')
const cacheDir = join(root, '.cache')
const target = join(cacheDir, 'claude-code')
const binOf = (prefix) => join(prefix, 'node_modules', '.bin', 'claude')

function installedVersion(prefix) {
  try {
    return JSON.parse(readFileSync(join(prefix, 'node_modules', '@anthropic-ai', 'claude-code', 'package.json'), 'utf8')).version
  } catch {
    return undefined
  }
}

if (installedVersion(target) !== CLAUDE_CODE_VERSION || !existsSync(binOf(target))) {
  mkdirSync(cacheDir, { recursive: true })
  // Installed beside the target and renamed into place, so two test workers never see half an install.
  const staging = mkdtempSync(join(cacheDir, 'claude-code-staging-'))
  try {
    execFileSync('npm', ['install', '--prefix', staging, '--no-audit', '--no-fund', '--loglevel=error', `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 300_000,
    })
    if (installedVersion(target) !== CLAUDE_CODE_VERSION) {
      rmSync(target, { recursive: true, force: true })
      try {
        renameSync(staging, target)
      } catch (error) {
        if (installedVersion(target) !== CLAUDE_CODE_VERSION) throw error // else another worker won the race
      }
    }
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}
process.stdout.write(`${binOf(target)}\n`)
