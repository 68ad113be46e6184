import { describe, expect, it } from 'vitest'
import type { ApprovalState } from '../../contract/approvals.js'
import { hookAnswerFor, redactSecrets, settlementOf, summarizeToolInput } from '../../mcp/approvals.js'

/** The pure decisions of mcp/approvals.ts: what a text says, how a hook answers, what ends a request. */

describe('what a request text says Claude wants to do', () => {
  it('names the command, the file, the URL or the question', () => {
    expect(summarizeToolInput('Bash', { command: 'npm test', description: 'Run the tests' })).toBe('npm test')
    expect(summarizeToolInput('Edit', { file_path: '/src/app.ts', old_string: 'a', new_string: 'b' })).toBe('/src/app.ts')
    expect(summarizeToolInput('WebFetch', { url: 'https://example.com/docs', prompt: 'read it' })).toBe('https://example.com/docs')
    expect(summarizeToolInput('Grep', { pattern: 'TODO', path: '/src' })).toBe('TODO in /src')
    expect(summarizeToolInput('AskUserQuestion', { questions: [{ question: 'Which database?', options: [] }] })).toBe('Which database?')
    expect(summarizeToolInput('mcp__db__query', { sql: 'select 1' })).toBe('{"sql":"select 1"}')
  })

  it('never carries a secret, and fits in a text', () => {
    const secrets = [
      ['curl -u admin:s3cr3tpass https://user:p4ssw0rd@db.example.com/x', ['s3cr3tpass', 'p4ssw0rd']],
      ['export API_KEY=abc123def456 && deploy --token tok_live_998877', ['abc123def456', 'tok_live_998877']],
      ['curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"', ['eyJhbGci', 'c2lnbmF0']],
      ['OPENAI=sk-proj-abcdefghijklmnopqrstuvwx gh auth login --with-token ghp_abcdefghijklmnop1234', ['sk-proj-abcdef', 'ghp_abcdef']],
      ['aws s3 ls --profile x AKIAIOSFODNN7EXAMPLE', ['AKIAIOSFODNN7EXAMPLE']],
      ['mysql -u root -phunter2 billing', ['hunter2']],
    ] as const
    for (const [command, hidden] of secrets) {
      const summary = summarizeToolInput('Bash', { command })
      for (const secret of hidden) expect(summary, command).not.toContain(secret)
    }
    expect(redactSecrets('git push origin main')).toBe('git push origin main')
    expect(redactSecrets('ls /work/billing-service/src/components')).toBe('ls /work/billing-service/src/components')
    expect(summarizeToolInput('Bash', { command: `echo ${'x'.repeat(1000)}` }).length).toBeLessThanOrEqual(300)
  })
})

const state = (patch: Partial<ApprovalState>): ApprovalState => ({
  approval_id: 'a1',
  request_id: 'r1',
  tag: 'K7QX',
  status: 'pending',
  sms_sent: true,
  decided_by: null,
  decided_at: null,
  ...patch,
})

describe("the hook's answer to the phone's decision", () => {
  const input = { command: 'make deploy' }
  const permission = { approvalId: 'a1', requestId: 'r1', kind: 'permission' } as const
  const question = { ...permission, kind: 'question' } as const
  const questions = { questions: [{ question: 'Which?', options: [{ label: 'A' }] }] }
  it('allow, deny (saying it was by text), a question answered; nothing for anything else', () => {
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: 'phone' }), input, permission)).toEqual({ hookSpecificOutput: { hookEventName: 'PermissionRequest', decision: { behavior: 'allow' } } })
    expect(hookAnswerFor(state({ status: 'denied', decided_by: 'phone', message: null }), input, permission)?.hookSpecificOutput.decision).toEqual({ behavior: 'deny', message: 'Denied by text from the phone.' })
    expect(hookAnswerFor(state({ status: 'denied', decided_by: 'phone', message: 'not today' }), input, permission)?.hookSpecificOutput.decision).toEqual({ behavior: 'deny', message: 'Denied by text from the phone: not today' })
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: { 'Which?': 'A' } }), questions, question)?.hookSpecificOutput.decision).toEqual({ behavior: 'allow', updatedInput: { ...questions, answers: { 'Which?': 'A' } } })
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: {} }), questions, question)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'settled_elsewhere', decided_by: 'terminal' }), input, permission)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'pending' }), input, permission)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'refused', refused_reason: 'daily_cap' }), input, permission)).toBeUndefined()
  })

  it('a denial on a call is told to Claude as one, not as a text', () => {
    const said = 'Denied by phone call to +1***8912'
    expect(hookAnswerFor(state({ status: 'denied', decided_by: 'phone', message: said }), input, permission)?.hookSpecificOutput.decision).toEqual({ behavior: 'deny', message: said })
  })

  it('never an allow the phone did not explicitly give to this very request', () => {
    // No decider named: a malformed or half-written answer is not an allow.
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: null }), input, permission)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: 'terminal' }), input, permission)).toBeUndefined()
    // The state of another request (another approval id, or the same id answered for another request_id).
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: 'phone', approval_id: 'a2' }), input, permission)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: 'phone', request_id: 'r2' }), input, permission)).toBeUndefined()
    // An "answered" Bash command would run with updatedInput: a question's answer allows only a question.
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: { 'Which?': 'A' } }), input, permission)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'allowed', decided_by: 'phone' }), questions, question)).toBeUndefined()
    // Answers only to the questions asked, all of them; the tool's own input is never changed.
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: { 'Which?': 'A', 'Other?': 'B' } }), questions, question)).toBeUndefined()
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: { 'Other?': 'B' } }), questions, question)).toBeUndefined()
    const two = { questions: [{ question: 'Which?', options: [{ label: 'A' }] }, { question: 'When?', options: [{ label: 'Now' }] }] }
    expect(hookAnswerFor(state({ status: 'answered', decided_by: 'phone', answers: { 'Which?': 'A' } }), two, question)).toBeUndefined()
  })
})

describe('what shows a request ended without the phone (there is no tool_use_id: the call itself is compared)', () => {
  const call = { tool_name: 'Bash', tool_input: { command: 'make deploy' } }
  const event = (hook_event_name: string, fields: Record<string, unknown> = {}) => ({ hook_event_name, ...fields })
  it('the same call ran, failed or was refused; any new prompt or the end of the turn or session', () => {
    expect(settlementOf(event('PostToolUse', call), call)).toEqual({ decided_by: 'terminal', evidence: 'PostToolUse', decision: 'allowed' })
    expect(settlementOf(event('PostToolUseFailure', call), call)).toMatchObject({ decided_by: 'terminal', decision: 'allowed' })
    expect(settlementOf(event('PermissionDenied', call), call)).toMatchObject({ decided_by: 'terminal', decision: 'denied' })
    expect(settlementOf(event('UserPromptSubmit'), call)).toMatchObject({ decided_by: 'terminal', decision: 'unknown' })
    expect(settlementOf(event('Stop'), call)).toMatchObject({ decided_by: 'terminal' })
    expect(settlementOf(event('SessionEnd'), call)).toMatchObject({ decided_by: 'session_end' })
  })
  it('another call of the same tool, or another tool, does not', () => {
    expect(settlementOf(event('PostToolUse', { tool_name: 'Bash', tool_input: { command: 'ls' } }), call)).toBeUndefined()
    expect(settlementOf(event('PostToolUse', { tool_name: 'Read', tool_input: call.tool_input }), call)).toBeUndefined()
    expect(settlementOf(event('Notification', { message: 'Claude needs your permission' }), call)).toBeUndefined()
  })
  it('a question answered at the terminal comes back with its answers added: still the same call', () => {
    const question = { tool_name: 'AskUserQuestion', tool_input: { questions: [{ question: 'Which?' }] } }
    expect(settlementOf(event('PostToolUse', { tool_name: 'AskUserQuestion', tool_input: { ...question.tool_input, answers: { 'Which?': 'A' } } }), question)).toMatchObject({ decided_by: 'terminal' })
  })
})
