import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'

/**
 * The real Claude Code CLI (pinned in scripts/install-claude-code.mjs) for the end-to-end suite: installed
 * into .cache/claude-code, run with a throwaway HOME against the scripted Messages API on 127.0.0.1.
 */

export type ClaudeCli = { bin: string } | { unavailable: string }

let install: Promise<ClaudeCli> | undefined

/** The pinned CLI, installed first when missing (CI installs it before `npm test`). */
export function claudeCli(): Promise<ClaudeCli> {
  install ??= promisify(execFile)(process.execPath, [resolve('scripts/install-claude-code.mjs')], { timeout: 300_000 }).then(
    ({ stdout }) => ({ bin: stdout.trim() }),
    (error: Error & { stderr?: string }) => ({ unavailable: `${error.message.split('\n')[0]} ${error.stderr ?? ''}`.trim() }),
  )
  return install
}

export interface ClaudeHome {
  /** HOME of the Claude Code process: ~/.claude (settings, plugins) lives here. */
  home: string
  /** XDG_CONFIG_HOME: the plugin keeps ~/.config/claude-sms-notifier here. */
  configHome: string
  /** A project folder to run the session in. */
  project: string
}

export function claudeHome(): ClaudeHome {
  const home = mkdtempSync(join(tmpdir(), 'claude-e2e-home-'))
  const configHome = join(home, '.config')
  const project = join(home, 'project')
  mkdirSync(configHome, { recursive: true })
  mkdirSync(project, { recursive: true })
  return { home, configHome, project }
}

/**
 * The environment of a Claude Code run, built from nothing so that nothing of the outer environment
 * (an outer Claude Code session, a real API key) leaks in. Network stays on 127.0.0.1: the model is
 * the scripted API, telemetry and update checks are off, and npm's registry is a closed local port.
 */
export function claudeEnv(home: ClaudeHome, apiUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: home.home,
    XDG_CONFIG_HOME: home.configHome,
    TMPDIR: tmpdir(),
    ANTHROPIC_BASE_URL: apiUrl,
    ANTHROPIC_API_KEY: 'sk-ant-e2e-dummy-key',
    // Without this, MCP tools are deferred behind a search tool and missing from the request's tools.
    ENABLE_TOOL_SEARCH: 'false',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    npm_config_registry: 'http://127.0.0.1:9/',
    ...extra,
  }
}

export interface ClaudeRun {
  code: number | null
  stdout: string
  stderr: string
  /** The stream-json lines, parsed (with --output-format stream-json). */
  events: Record<string, unknown>[]
}

/** Runs `claude <args>` to completion; killed after timeoutMs so a stuck CLI fails the test instead of hanging it. */
export async function runClaude(bin: string, args: string[], opts: { env: Record<string, string>; cwd: string; timeoutMs?: number }): Promise<ClaudeRun> {
  const child = spawn(bin, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), opts.timeoutMs ?? 90_000)
  const [code] = (await once(child, 'close')) as [number | null]
  clearTimeout(killer)
  const events = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  return { code, stdout, stderr, events }
}
