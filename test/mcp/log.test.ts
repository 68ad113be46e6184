import { describe, expect, it } from 'vitest'
import { createMcpLogger } from '../../mcp/log.js'
import { TOKEN_SHAPES } from '../support/token-shapes.js'

function captured(level: string) {
  const lines: string[] = []
  const log = createMcpLogger(level, (line) => void lines.push(line))
  return { log, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>), raw: () => lines.join('') }
}

describe('the MCP server log (stderr)', () => {
  it('writes pino-shaped JSON lines: level number, time, service, pid, fields, msg', () => {
    const { log, entries } = captured('info')
    log.info({ why: 'SIGINT' }, 'shutting down')
    log.warn('CLAUDE_CODE_SESSION_ID is not set')
    expect(entries()).toEqual([
      { level: 30, time: expect.any(String), service: 'claude-sms-notifier-mcp', pid: process.pid, why: 'SIGINT', msg: 'shutting down' },
      { level: 40, time: expect.any(String), service: 'claude-sms-notifier-mcp', pid: process.pid, msg: 'CLAUDE_CODE_SESSION_ID is not set' },
    ])
  })

  it.each(TOKEN_SHAPES)('masks a %s in fields, messages and errors', (_name, text, secret) => {
    const { log, raw } = captured('debug')
    log.info({ hook: { tool_response: { stderr: text } } }, `hook said ${text}`)
    log.error({ err: new Error(text) }, 'failed')
    expect(raw()).not.toContain(secret)
  })

  it('masks phone numbers and redacts tokens, in fields, messages and errors, as the server log does', () => {
    const { log, raw } = captured('debug')
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlc2lnbmF0dXJl'
    log.info({ phone: '+14155550123', session_token: 'abcdefghijklmnop', nested: { url: 'http://127.0.0.1:5/cb?temp_token=secret123&state=x' } }, 'paired +447911123456')
    log.error({ err: new Error(`refresh of ${jwt} for +14155550123 failed`) }, 'token refresh failed')
    const text = raw()
    for (const secret of ['4155550123', '7911123456', 'abcdefghijklmnop', 'secret123', jwt]) expect(text).not.toContain(secret)
    expect(text).toContain('+1***0123')
    expect(text).toContain('+44***3456')
  })

  it('writes nothing below its level, and nothing at all when silent', () => {
    const warn = captured('warn')
    warn.log.info({ a: 1 }, 'not written')
    warn.log.error('written')
    expect(warn.entries().map((e) => e.msg)).toEqual(['written'])
    const silent = captured('silent')
    silent.log.error('not written')
    expect(silent.entries()).toEqual([])
  })
})
