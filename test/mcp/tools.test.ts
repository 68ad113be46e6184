import { copyFileSync, mkdtempSync, readdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MCP_MAIN, pluginDirs, startMcp, type McpProcess } from '../support/mcp-client.js'

const running: McpProcess[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
})
async function mcp(env: Record<string, string | undefined> = {}) {
  const dirs = pluginDirs()
  const p = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: 'http://127.0.0.1:9', ...env } })
  running.push(p)
  return { p, dirs }
}

describe('the MCP server\'s tools, without a notifier server', () => {
  it('runs from the committed bundle alone, with no node_modules anywhere (plugins are installed without a build)', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'plugin-copy-'))
    const alone = join(copy, 'main.js')
    // The launcher and the server bundle it runs: dist/mcp as the plugin ships it.
    for (const name of readdirSync(dirname(MCP_MAIN))) copyFileSync(join(dirname(MCP_MAIN), name), join(copy, name))
    const p = await startMcp({ dirs: pluginDirs(), main: alone, env: { CLAUDE_SMS_AUTH_URL: 'https://sms.example.com' } })
    running.push(p)
    expect((await p.call('sms_status')).text).toMatch(/Not paired yet/)
  })

  it('lists six tools whose descriptions fit in under 1,000 tokens of Claude\'s context', async () => {
    const { p } = await mcp()
    const list = await p.client.listTools()
    expect(list.tools.map((t) => t.name).sort()).toEqual(['sms_logout', 'sms_pair', 'sms_setup', 'sms_start', 'sms_status', 'sms_stop'])
    expect(JSON.stringify(list).length).toBeLessThan(4_000)
  })

  it('answers every bad input with a clear message and keeps running', async () => {
    const { p } = await mcp()
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['sms_pair', { code: '12' }, /6 digits from the text/],
      ['sms_pair', { code: 'abcdef' }, /6 digits from the text/],
      ['sms_pair', {}, /code/],
      ['sms_pair', { code: 123456 }, /expected string.*code/],
      ['sms_start', { description: '   ' }, /Say what this session is doing/],
      ['sms_start', { description: 'x'.repeat(201) }, /201 characters; texts quote at most 200\./],
      ['sms_start', {}, /description/],
      ['sms_setup', { phone: 'call me maybe' }, /international format/],
      ['sms_setup', { phone: 42 }, /expected string.*phone/],
    ]
    for (const [tool, args, message] of cases) {
      const r = await p.call(tool, args)
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true)
      expect(r.text).toMatch(message)
    }
    expect((await p.call('sms_status')).isError).toBe(false)
    // 200 characters is within the limit the server checks (contract/api.ts): it goes on to the pairing check.
    expect((await p.call('sms_start', { description: 'x'.repeat(200) })).text).toMatch(/^Not paired yet/)
  })

  it('says what to do when not paired, not monitoring, or no pairing is in progress', async () => {
    const { p } = await mcp()
    expect((await p.call('sms_start', { description: 'fix the build' })).text).toBe('Not paired yet. Run /sms-notifier:sms-setup first.')
    expect((await p.call('sms_pair', { code: '123456' })).text).toBe('No pairing in progress. Run /sms-notifier:sms-setup first.')
    const stop = await p.call('sms_stop')
    expect(stop.text).toMatch(/Not monitoring this session/)
    const status = await p.call('sms_status')
    expect(status.text).toMatch(/Not paired yet[\s\S]*Not monitoring this session/)
    expect(status.structured).toMatchObject({ paired: false, monitoring: null, queued: 0 })
    // Claude Code hands the model the structured content: the person's lines must be in it too.
    expect(status.structured.message).toBe(status.text)
    expect((await p.call('sms_logout')).text).toMatch(/Not paired/)
  })

  it('answers a missing or insecure server URL in words, without crashing', async () => {
    const { p: missing } = await mcp({ CLAUDE_SMS_AUTH_URL: undefined })
    expect((await missing.call('sms_setup')).text).toMatch(/CLAUDE_SMS_AUTH_URL is not set/)
    const { p: insecure } = await mcp({ CLAUDE_SMS_AUTH_URL: 'http://sms.example.com' })
    const r = await insecure.call('sms_pair', { code: '123456' })
    expect(r.isError).toBe(true)
    expect(r.text).toMatch(/must use https/)
  })

  it('over SSH, asks for the phone number instead of opening a browser', async () => {
    const { p } = await mcp({ SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' })
    const r = await p.call('sms_setup')
    expect(r.text).toMatch(/over SSH[\s\S]*\/sms-notifier:sms-setup \+14155550123/)
  })

  // Claude Code 2.1.332 runs a plugin's command only by its full name: typed as `/sms-pair 123456` it
  // answers "Unknown command: /sms-pair" (checked in its terminal UI and with -p). So every command an
  // answer tells the person to run is /sms-notifier:<a file in commands/>.
  it('names every command the way Claude Code runs it: /sms-notifier:<command>', async () => {
    const commands = readdirSync('commands').map((f) => f.replace(/\.md$/, ''))
    const { p } = await mcp({ SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22' })
    const answers = [
      await p.call('sms_start', { description: 'fix the build' }),
      await p.call('sms_start', { description: ' ' }),
      await p.call('sms_pair', { code: '123456' }),
      await p.call('sms_pair', { code: '12' }),
      await p.call('sms_setup'),
      await p.call('sms_setup', { phone: 'call me maybe' }),
      await p.call('sms_status'),
      await p.call('sms_stop'),
      await p.call('sms_logout'),
    ].map((r) => r.text)
    const named = answers.join('\n').match(/(?<![\w.:/])\/[\w-]+(?::[\w-]+)?/g) ?? []
    expect(named.length).toBeGreaterThan(5)
    for (const command of named) expect(command, answers.join('\n')).toMatch(new RegExp(`^/sms-notifier:(${commands.join('|')})$`))
  })

  it('says so when the server cannot be reached', async () => {
    const { p } = await mcp()
    const r = await p.call('sms_setup', { phone: '+14155550123' })
    expect(r.isError).toBe(true)
    expect(r.text).toMatch(/Can't reach the notifier server at http:\/\/127\.0\.0\.1:9/)
  })

  it('removes its run file and exits on SIGINT and SIGTERM, as Claude Code stops it', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const { p } = await mcp()
      const run = p.runFile()
      expect(run).toMatchObject({ pid: p.pid, claude_pid: process.pid })
      process.kill(p.pid, signal)
      await p.exited
      expect(p.runFile()).toBeUndefined()
      expect(p.stderr.join('\n')).toContain(`"why":"${signal}"`)
    }
  })

  it('keeps its files private: the config directory is 0700', async () => {
    const { dirs } = await mcp()
    expect(statSync(join(dirs.config, 'claude-sms-notifier')).mode & 0o777).toBe(0o700)
  })
})
