import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { maskPhone } from '../../server/phone.js'
import { claudeEnv, runClaude, type ClaudeHome, type ClaudeRun } from '../support/claude-cli.js'
import { inOrder, startMessagesApi, toolNames, toolResults, userText, type MessagesRequest, type Script } from '../support/messages-api.js'
import type { TestServer } from '../support/server.js'
import { pairedUser, testPhone } from '../support/users.js'

/** Shared steps of the end-to-end scenarios: a paired person, a recorded `node`, one `claude -p` session. */

export const PLUGIN = 'sms-notifier'
export const MARKETPLACE = 'claude-sms-notifier'
/** How Claude Code names the plugin's MCP tools to the model: mcp__plugin_<plugin>_<server>__<tool>. */
export const tool = (name: string) => `mcp__plugin_${PLUGIN}_sms__${name}`

/** A person who paired this computer already: auth.json as sms_pair writes it, holding a real access token. */
export async function pairedPerson(sql: Sql, server: TestServer, home: ClaudeHome): Promise<{ phone: string }> {
  const phone = testPhone()
  const { accessToken } = await pairedUser(sql, server.config, { phone })
  const dir = join(home.configHome, 'claude-sms-notifier')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const now = new Date()
  const auth = {
    server_url: server.url,
    access_token: accessToken,
    expires_at: new Date(now.getTime() + 129_600_000).toISOString(),
    phone: maskPhone(phone),
    paired_at: now.toISOString(),
  }
  writeFileSync(join(dir, 'auth.json'), `${JSON.stringify(auth, null, 2)}\n`, { mode: 0o600 })
  return { phone }
}

/** A `node` and a `curl` first on PATH that record each start, then exec the real ones. */
export interface NodeRecorder {
  path: string
  /** The script path of every node started so far (the MCP server, a hook forwarder where curl is missing). */
  scripts(): string[]
  /** The plugin folder ($CLAUDE_PLUGIN_ROOT) of every curl started so far: the hooks that delivered an event. */
  curlRuns(): string[]
}

export function recordingNode(): NodeRecorder {
  const bin = mkdtempSync(join(tmpdir(), 'e2e-node-'))
  const log = join(bin, 'starts.log')
  const curlLog = join(bin, 'curl.log')
  // The script is the first argument that is not a node option (.mcp.json passes V8 flags first).
  writeFileSync(join(bin, 'node'), `#!/bin/sh\nfor a in "$@"; do case $a in -*) ;; *) printf '%s\\n' "$a" >> "${log}"; break ;; esac; done\nexec "${process.execPath}" "$@"\n`)
  writeFileSync(join(bin, 'curl'), `#!/bin/sh\nprintf '%s\\n' "$CLAUDE_PLUGIN_ROOT" >> "${curlLog}"\nexec /usr/bin/curl "$@"\n`)
  chmodSync(join(bin, 'node'), 0o755)
  chmodSync(join(bin, 'curl'), 0o755)
  const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [])
  return {
    path: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    scripts: () => lines(log),
    curlRuns: () => lines(curlLog),
  }
}

/** The hooks Claude Code ran, as reported with --include-hook-events: event name, exit code, outcome. */
export function hookResponses(run: ClaudeRun): { event: string; exitCode: unknown; outcome: unknown; stdout: unknown }[] {
  return run.events
    .filter((e) => e.type === 'system' && e.subtype === 'hook_response')
    .map((e) => ({ event: String(e.hook_event), exitCode: e.exit_code, outcome: e.outcome, stdout: e.stdout }))
}

/**
 * One headless session: `claude -p <prompt>` against a scripted model, with the plugin loaded from
 * `pluginDir` (or, without it, from the plugins installed in the throwaway HOME). Tools are allowed by
 * name: as root, Claude Code refuses --dangerously-skip-permissions.
 */
export async function runSession(opts: {
  bin: string
  home: ClaudeHome
  server: TestServer
  script: Script
  prompt: string
  allowedTools: string[]
  pluginDir?: string
  node: NodeRecorder
}): Promise<ClaudeRun & { apiFailures: Error[] }> {
  const api = await startMessagesApi(opts.script)
  try {
    const args = ['-p', opts.prompt, '--output-format', 'stream-json', '--verbose', '--include-hook-events', '--allowedTools', opts.allowedTools.join(' ')]
    if (opts.pluginDir) args.push('--plugin-dir', opts.pluginDir)
    const env = claudeEnv(opts.home, api.url, { PATH: opts.node.path, CLAUDE_SMS_AUTH_URL: opts.server.url, CLAUDE_SMS_RETRY_BASE_MS: '50' })
    const run = await runClaude(opts.bin, args, { env, cwd: opts.home.project })
    return { ...run, apiFailures: api.failures }
  } finally {
    await api.close()
  }
}

/** Why a run went wrong, for assertion messages. */
export function explain(run: ClaudeRun & { apiFailures: Error[] }): string {
  return [`exit ${run.code}`, ...run.apiFailures.map((e) => `scripted model: ${e.message}`), run.stderr.slice(-2000), run.stdout.slice(-3000)].join('\n')
}

export const FAILING_COMMAND = 'ls /no/such/billing-dump'

function expectStarted(request: MessagesRequest) {
  const [started] = toolResults(request)
  if (!started || started.isError) throw new Error(`sms_start failed: ${started?.text ?? JSON.stringify(request.messages.at(-1))}`)
}

/**
 * Scenario: the person starts monitoring with /sms-notifier:sms-start, then a Bash command fails. The
 * scripted model answers the failure only once `errorTextArrives` resolves, so the session cannot end
 * before the text is out, and nothing is slept on.
 */
export function failingCommandScenario(description: string, errorTextArrives: () => Promise<string>) {
  let errorText: string | undefined
  const script = inOrder(
    (request) => {
      if (!toolNames(request).includes(tool('sms_start'))) throw new Error(`sms_start is not offered: ${toolNames(request).join(', ')}`)
      // The command expanded into its instruction, arguments included.
      if (!userText(request).includes(`set to "${description}"`)) throw new Error(`/sms-start did not expand: ${userText(request)}`)
      return [{ type: 'tool_use', name: tool('sms_start'), input: { description } }]
    },
    (request) => {
      expectStarted(request)
      return [{ type: 'tool_use', name: 'Bash', input: { command: FAILING_COMMAND, description: 'Find the billing dump' } }]
    },
    async (request) => {
      if (!toolResults(request)[0]?.isError) throw new Error(`the command was expected to fail: ${JSON.stringify(toolResults(request))}`)
      errorText = await errorTextArrives()
      return 'The billing dump is missing.'
    },
  )
  return {
    script,
    prompt: `/${PLUGIN}:sms-start ${description}`,
    allowedTools: [tool('sms_start'), 'Bash'],
    errorText: () => errorText,
  }
}

/** Scenario: monitoring starts, the turn ends without trouble, and the session is over. */
export function quietSessionScenario(description: string) {
  return {
    script: inOrder(
      () => [{ type: 'tool_use', name: tool('sms_start'), input: { description } }],
      (request) => {
        expectStarted(request)
        return 'Release notes written.'
      },
    ),
    prompt: `/${PLUGIN}:sms-start ${description}`,
    allowedTools: [tool('sms_start')],
  }
}
