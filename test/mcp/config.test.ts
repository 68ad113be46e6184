import { describe, expect, it } from 'vitest'
import { checkAuthUrl, loadMcpConfig } from '../../mcp/config.js'

describe('plugin configuration', () => {
  it('takes https anywhere and plain http only on this machine', () => {
    expect(checkAuthUrl('https://sms.example.com/')).toEqual({ url: 'https://sms.example.com' })
    expect(checkAuthUrl('http://127.0.0.1:8787')).toEqual({ url: 'http://127.0.0.1:8787' })
    expect(checkAuthUrl('http://localhost:8787')).toEqual({ url: 'http://localhost:8787' })
    expect(checkAuthUrl('http://sms.example.com')).toEqual({ problem: expect.stringContaining('must use https') })
    expect(checkAuthUrl('ftp://x')).toEqual({ problem: expect.stringContaining('must use https') })
    expect(checkAuthUrl('sms.example.com')).toEqual({ problem: expect.stringContaining('not a URL') })
    expect(checkAuthUrl(undefined)).toEqual({ problem: expect.stringContaining('CLAUDE_SMS_AUTH_URL is not set') })
  })

  it('has the documented defaults and respects XDG_CONFIG_HOME', () => {
    const c = loadMcpConfig({ HOME: '/home/ann', CLAUDE_PLUGIN_DATA: '/data/p', CLAUDE_PROJECT_DIR: '/src/billing', CLAUDE_CODE_SESSION_ID: 'abc' }, 777)
    expect(c).toMatchObject({ heartbeatIntervalMs: 30_000, inactivityThresholdMs: 600_000, doneThresholdMs: 300_000, logLevel: 'info', problems: [] })
    expect(c).toMatchObject({ configDir: '/home/ann/.config/claude-sms-notifier', runDir: '/data/p/run', claudePid: 777, project: 'billing', claudeSessionId: 'abc', remoteShell: false })
    expect(loadMcpConfig({ HOME: '/home/ann', XDG_CONFIG_HOME: '/xdg' }).configDir).toBe('/xdg/claude-sms-notifier')
    expect(loadMcpConfig({ SSH_CONNECTION: '1.2.3.4 5 6.7.8.9 22' }).remoteShell).toBe(true)
  })

  it('keeps approvals by text off unless CLAUDE_SMS_APPROVALS turns them on for every session', () => {
    expect(loadMcpConfig({}).approvals).toBe(false)
    expect(loadMcpConfig({ CLAUDE_SMS_APPROVALS: '1' }).approvals).toBe(true)
    expect(loadMcpConfig({ CLAUDE_SMS_APPROVALS: 'true' }).approvals).toBe(true)
    expect(loadMcpConfig({ CLAUDE_SMS_APPROVALS: '0' }).approvals).toBe(false)
    expect(loadMcpConfig({ CLAUDE_SMS_APPROVALS: 'always' }).problems).toEqual([expect.stringContaining('CLAUDE_SMS_APPROVALS must be 0 or 1')])
  })

  it('names a bad value instead of crashing', () => {
    const c = loadMcpConfig({ CLAUDE_SMS_HEARTBEAT_INTERVAL: 'soon', CLAUDE_SMS_INACTIVITY_THRESHOLD: '5' })
    expect(c.problems).toEqual([expect.stringContaining('CLAUDE_SMS_HEARTBEAT_INTERVAL'), expect.stringContaining('CLAUDE_SMS_INACTIVITY_THRESHOLD')])
  })
})
