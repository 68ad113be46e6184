import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claudeCli, claudeEnv, claudeHome, runClaude, type ClaudeHome } from '../support/claude-cli.js'
import { useTestDatabase } from '../support/db.js'
import { serveGitRepository } from '../support/git-server.js'
import { startTestServer, type TestServer } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { explain, failingCommandScenario, MARKETPLACE, pairedPerson, PLUGIN, recordingNode, runSession } from './session.js'

/**
 * The plugin installed the way people install it: its repository added as a marketplace (served over
 * git's smart HTTP on 127.0.0.1, as GitHub serves it), the plugin installed from it into a throwaway
 * HOME, and no --plugin-dir. Claude Code clones the marketplace, copies the plugin into its cache and
 * would run `npm ci --ignore-scripts` there; this proves the plugin runs from that copy as committed,
 * with nothing installed or built in it. (A marketplace added as a local folder is run in place, so
 * it would not prove this.)
 */
const cli = await claudeCli()
const bin = 'bin' in cli ? cli.bin : ''

/**
 * The repository as it would be pushed: the working tree's tracked files plus new ones not ignored (no
 * node_modules, build, .cache), committed into a bare repository.
 */
function publishedRepository(): string {
  const base = mkdtempSync(join(tmpdir(), 'e2e-repo-'))
  const work = join(base, 'work')
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean)
  for (const file of files) {
    if (!existsSync(file)) continue // deleted in the working tree
    mkdirSync(dirname(join(work, file)), { recursive: true })
    cpSync(file, join(work, file))
  }
  const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=e2e', '-c', 'user.email=e2e@example.invalid', ...args], { cwd, stdio: 'ignore' })
  git(work, 'init', '-q', '-b', 'main')
  git(work, 'add', '-A')
  git(work, 'commit', '-q', '-m', 'release')
  git(base, 'clone', '-q', '--bare', work, 'claude-sms-notifier.git')
  return join(base, 'claude-sms-notifier.git')
}

/** An `npm` first on PATH that records each start and fails at once, instead of reaching a registry. */
function recordingNpm(): { path: string; runs: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-npm-'))
  const log = join(dir, 'runs.log')
  writeFileSync(join(dir, 'npm'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${log}"\nexit 1\n`)
  chmodSync(join(dir, 'npm'), 0o755)
  return { path: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}`, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []) }
}

async function claudeCommand(home: ClaudeHome, args: string[], extraEnv: Record<string, string> = {}) {
  const run = await runClaude(bin, args, { env: claudeEnv(home, 'http://127.0.0.1:9', extraEnv), cwd: home.project })
  expect(run.code, `claude ${args.join(' ')}\n${run.stdout}\n${run.stderr}`).toBe(0)
  return `${run.stdout}\n${run.stderr}`
}

describe.skipIf(!bin)('the plugin installed from a marketplace', () => {
  const db = useTestDatabase()
  let twilio: TwilioEndpoint
  let server: TestServer

  beforeAll(async () => {
    twilio = await startTwilioEndpoint()
    server = await startTestServer({ sql: db.sql, twilio, name: 'e2e-marketplace' })
  })
  afterAll(async () => {
    await server?.close()
    await twilio?.close()
  })

  it('installs from a checkout with nothing to install or build, and texts a failing command from its cached copy', { timeout: 120_000 }, async () => {
    const home = claudeHome()
    const repository = await serveGitRepository(publishedRepository())
    await claudeCommand(home, ['plugin', 'marketplace', 'add', repository.url]).finally(() => repository.close())
    const npm = recordingNpm()
    const installed = await claudeCommand(home, ['plugin', 'install', `${PLUGIN}@${MARKETPLACE}`], { PATH: npm.path })
    expect(installed).toMatch(/Successfully installed plugin/)
    // package.json's empty "overrides" makes Claude Code skip `npm ci` in its copy (see README).
    expect(npm.runs()).toEqual([])

    const versions = join(home.home, '.claude', 'plugins', 'cache', MARKETPLACE, PLUGIN)
    const [version] = readdirSync(versions)
    const cached = join(versions, version!)
    expect(existsSync(join(cached, 'dist', 'mcp', 'main.js'))).toBe(true)
    // The package declares no runtime dependencies, so Claude Code ran no npm install in the copy.
    expect(existsSync(join(cached, 'node_modules'))).toBe(false)

    const { phone } = await pairedPerson(db.sql, server, home)
    const node = recordingNode()
    const textsTo = () => twilio.messages.filter((m) => m.to === phone).map((m) => m.body)
    const scenario = failingCommandScenario('Rotate the API keys', async () => {
      for (let n = twilio.messages.length; textsTo().length < 1; n++) await twilio.waitForMessages(n + 1)
      return textsTo()[0]!
    })
    const run = await runSession({ bin, home, server, node, ...scenario })
    expect(run.code, explain(run)).toBe(0)
    expect(scenario.errorText()).toContain('"Rotate the API keys"')
    expect(scenario.errorText()).toMatch(/Error: .*No such file or directory/)
    // Both the MCP server and the hooks ran from Claude Code's copy, not from the checkout.
    expect(node.scripts()).toEqual([join(cached, 'dist', 'mcp', 'main.js')])
    expect(node.curlRuns().length).toBeGreaterThan(0)
    expect(new Set(node.curlRuns())).toEqual(new Set([cached]))
  })
})
