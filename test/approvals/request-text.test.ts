import { describe, expect, it } from 'vitest'
import { formatRequestText } from '../../server/approvals/format.js'
import { formatText } from '../../server/sms/format.js'
import { isGsm7, segmentInfo } from '../../server/sms/segments.js'

const base = { kind: 'permission' as const, tool: 'Bash', summary: 'npm test -- --watch', project: 'api-server', tag: 'K7QX', charset: 'unicode' as const }

describe('the text of an approval request', () => {
  it('names the project, what Claude wants to run, and how to answer with the tag (never a bare YES)', () => {
    const body = formatRequestText(base)
    expect(body).toBe('Claude (api-server): Wants to run: npm test -- --watch\nReply Y K7QX to allow, N K7QX to deny\nReply STOP to disable')
    expect(body).not.toMatch(/\bYES\b/)
    expect(formatRequestText({ ...base, tool: 'Edit', summary: '/repo/src/app.ts' })).toContain('Wants to use Edit: /repo/src/app.ts')
  })

  it('redacts secrets in the command before it leaves the server', () => {
    const body = formatRequestText({ ...base, summary: 'curl -H "Authorization: Bearer abcdefghijklmnop123" https://x.test?api_key=s3cr3tvalue' })
    expect(body).not.toContain('abcdefghijklmnop123')
    expect(body).not.toContain('s3cr3tvalue')
    expect(body).toContain('[redacted]')
  })

  it.each(['unicode', 'gsm7'] as const)('clips a long command to at most 2 segments and keeps the answer line (%s)', (charset) => {
    const long = `psql -c "${'select * from orders where id in (1,2,3) and status = \'open\'; '.repeat(20)}" ✓ ünïcödé`
    const body = formatRequestText({ ...base, summary: long, charset })
    expect(segmentInfo(body).segments).toBeLessThanOrEqual(2)
    expect(body).toContain('Reply Y K7QX to allow, N K7QX to deny')
    expect(body).toMatch(charset === 'gsm7' ? /\.\.\./ : /…/)
    if (charset === 'gsm7') expect(isGsm7(body)).toBe(true)
  })

  it('a question: numbered options and how to pick one or answer in words', () => {
    const body = formatRequestText({
      ...base,
      kind: 'question',
      tool: 'AskUserQuestion',
      summary: '',
      questions: [{ question: 'Which database should we use?', options: [{ label: 'PostgreSQL' }, { label: 'MySQL' }], multiSelect: false }],
    })
    expect(body).toBe('Claude asks (api-server): Which database should we use?\n1 PostgreSQL\n2 MySQL\nReply 2 K7QX to pick 2, or K7QX and your own words')
  })

  it('several questions and multiSelect have their reply form; 4 questions of 20 long options still fit 2 segments', () => {
    const two = formatRequestText({
      ...base,
      kind: 'question',
      questions: [
        { question: 'Which database?', options: [{ label: 'PostgreSQL' }, { label: 'MySQL' }], multiSelect: false },
        { question: 'Which features?', options: [{ label: 'auth' }, { label: 'logs' }, { label: 'metrics' }], multiSelect: true },
      ],
    })
    expect(two).toContain('Q1 Which database? 1 PostgreSQL 2 MySQL')
    expect(two).toContain('Q2 Which features? (any) 1 auth 2 logs 3 metrics')
    expect(two).toContain('Reply K7QX 1:1 2:1,2')
    const huge = formatRequestText({
      ...base,
      kind: 'question',
      questions: Array.from({ length: 4 }, (_, q) => ({
        question: `Question ${q} ${'that goes on and on '.repeat(10)}?`,
        options: Array.from({ length: 20 }, (_, o) => ({ label: `option ${o} ${'with a long description '.repeat(4)}` })),
        multiSelect: q % 2 === 0,
      })),
    })
    expect(segmentInfo(huge).segments).toBeLessThanOrEqual(2)
  })
})

describe('a waiting text about a permission request (approvals off)', () => {
  const now = new Date('2026-03-01T12:00:00Z')
  it('says what Claude wants to do, from the plugin\'s permission_tool and permission_summary', () => {
    const body = formatText({
      type: 'waiting',
      description: 'Refactor auth',
      details: { message: 'Claude needs your permission to use Bash', permission_tool: 'Bash', permission_summary: 'rm -rf build && TOKEN=abcdef123456 make' },
      charset: 'unicode',
      now,
    })
    expect(body).toContain('Wants to run: rm -rf build && TOKEN=[redacted] make')
    expect(body).not.toContain('needs your permission')
  })

  it('or from Claude Code\'s tool_name and tool_input; plain waiting texts are unchanged', () => {
    const edit = formatText({ type: 'waiting', description: 'Docs', details: { tool_name: 'Write', tool_input: { file_path: '/repo/README.md', content: 'x' } }, charset: 'gsm7', now })
    expect(edit).toContain('Wants to use Write: /repo/README.md')
    const question = formatText({ type: 'waiting', description: 'Docs', details: { permission_tool: 'AskUserQuestion', permission_summary: 'Which database should the service use?' }, charset: 'unicode', now })
    expect(question).toContain('💬 Asks: Which database should the service use?')
    expect(question).not.toContain('AskUserQuestion')
    const plain = formatText({ type: 'waiting', description: 'Docs', details: { message: 'Which file next?' }, charset: 'unicode', now })
    expect(plain).toContain('Which file next?')
  })
})
