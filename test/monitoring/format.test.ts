import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { briefError, formatDigest, formatText, humanDuration, projectName, questionOf, toGsm7 } from '../../server/sms/format.js'
import { redactSecrets, redactSecretsDeep } from '../../server/sms/redact.js'
import { statusReply } from '../../server/sms/replies.js'
import { segmentInfo } from '../../server/sms/segments.js'

const now = new Date('2026-03-01T14:30:00Z')

describe('text templates (DESIGN §5)', () => {
  it('an error text names the session, the error and the project, and ends with the STOP line', () => {
    const body = formatText({
      type: 'error',
      description: 'Refactor auth',
      project: 'api-server',
      details: { tool_name: 'Bash', error: 'Exit code 1\nnpm ERR! Missing script: "tset"\nmore stuff' },
      charset: 'unicode',
      now,
    })
    expect(body).toBe('⚠️ Claude: "Refactor auth"\nError: Bash: Exit code 1: npm ERR! Missing script: "tset"\nProject: api-server\n\nReply STOP to disable')
  })

  it('a done text says Completed successfully!', () => {
    const body = formatText({ type: 'done', description: 'Write docs', project: null, charset: 'unicode', now })
    expect(body).toBe('✅ Claude: "Write docs"\nCompleted successfully!\n\nReply STOP to disable')
  })

  it("a waiting text says how long it has been idle and quotes Claude's question", () => {
    const body = formatText({ type: 'waiting', description: 'Migrate DB', project: 'shop', details: { message: 'Shall I drop the legacy table?' }, charset: 'unicode', now })
    expect(body.split('\n').slice(0, 3)).toEqual(['⏳ Claude: "Migrate DB"', 'Waiting for input (10 min idle)', '💬 Shall I drop the legacy table?'])
    expect(body.endsWith('\n\nReply STOP to disable')).toBe(true)
  })

  it('a went-dark text says how long the session has been silent', () => {
    const body = formatText({ type: 'went_dark', description: 'Long build', project: 'ci', silentForMs: 150_000, charset: 'unicode', now })
    expect(body).toContain('📴 Claude: "Long build"\nWent dark: no heartbeat for 3 min')
  })

  it('went-dark durations are rounded the way people say them', () => {
    const cases: [number, string][] = [
      [45_000, '45 s'],
      [59_600, '1 min'],
      [89_000, '1 min'],
      [7 * 60_000 + 40_000, '8 min'],
      [59 * 60_000 + 40_000, '1 h'],
      [119 * 60_000, '2 h'],
      [85 * 60_000, '1 h 25 min'],
      [96 * 60_000, '1 h 35 min'],
      [3 * 3_600_000 + 50 * 60_000, '4 h'],
      [30 * 3_600_000, '30 h'],
      [3 * 86_400_000 + 3_600_000, '3 days'],
    ]
    for (const [ms, said] of cases) {
      expect(humanDuration(ms), `${ms} ms`).toBe(said)
      expect(formatText({ type: 'went_dark', description: 'Build', silentForMs: ms, charset: 'unicode', now })).toContain(`Went dark: no heartbeat for ${said}\n`)
    }
  })

  it('a waiting text never says twice that Claude is waiting', () => {
    for (const message of ['Claude is waiting for your input', 'Claude is waiting for your input.', 'claude code is waiting for your input']) {
      const body = formatText({ type: 'waiting', description: 'Migrate DB', details: { message, notification_type: 'idle_prompt', idle_ms: 600_000 }, charset: 'unicode', now })
      expect(body).toBe('⏳ Claude: "Migrate DB"\nWaiting for input (10 min idle)\n\nReply STOP to disable')
      expect(body.match(/waiting/gi)).toHaveLength(1)
    }
    const asked = formatText({ type: 'waiting', description: 'Migrate DB', details: { message: 'Claude needs your permission to use Bash' }, charset: 'unicode', now })
    expect(asked).toContain('Waiting for input (10 min idle)\n💬 Claude needs your permission to use Bash')
  })

  it("names the project the same way in every kind of text, whether the event has a cwd or not", () => {
    const session = { project: '/home/me/src/billing' }
    const texts = [
      formatText({ type: 'done', description: 'Ship', project: projectName(session.project, '/home/me/src/billing'), charset: 'unicode', now }),
      formatText({ type: 'waiting', description: 'Ship', project: projectName(session.project, undefined), details: { message: 'Deploy now?' }, charset: 'unicode', now }),
      formatText({ type: 'went_dark', description: 'Ship', project: projectName(session.project, undefined), silentForMs: 120_000, charset: 'unicode', now }),
      formatText({ type: 'error', description: 'Ship', project: projectName('billing', '/home/me/src/billing/'), details: { error: 'boom' }, charset: 'unicode', now }),
    ]
    for (const text of texts) expect(text.split('\n')).toContain('Project: billing')
  })

  it('says how many texts were held back and since when', () => {
    const same = formatText({ type: 'error', description: 'x', details: { error: 'boom' }, held: { counts: { error: 3 }, since: new Date('2026-03-01T14:05:00Z') }, charset: 'unicode', now })
    expect(same).toContain('+3 more since 14:05 UTC')
    const mixed = formatText({ type: 'done', description: 'x', held: { counts: { error: 2, waiting: 1 }, since: new Date('2026-02-28T09:00:00Z') }, charset: 'unicode', now })
    expect(mixed).toContain('Held back since Feb 28 09:00 UTC: 2 errors, 1 waiting')
  })

  it('cuts a long error and question to fit in three segments, keeping the STOP line', () => {
    for (const type of ['error', 'waiting'] as const) {
      const body = formatText({ type, description: 'd'.repeat(300), project: 'p'.repeat(100), details: { error: 'e'.repeat(5000), message: 'why '.repeat(400) + 'ok?' }, charset: 'unicode', now })
      expect(segmentInfo(body).segments).toBeLessThanOrEqual(3)
      expect(body).toContain('…')
      expect(body.endsWith('Reply STOP to disable')).toBe(true)
    }
  })

  it('SMS_CHARSET=gsm7: plain GSM-7, no emoji, one 160-character segment, whatever the input', () => {
    const inputs = [
      { type: 'error' as const, details: { tool_name: 'Bash', error: '“Smart” quotes — and ünïcödé 🚀 ' + 'x'.repeat(400) } },
      { type: 'done' as const, details: {} },
      { type: 'waiting' as const, details: { message: 'Should I deploy to production now, or wait for the review from the team lead?' } },
      { type: 'went_dark' as const, details: {} },
    ]
    for (const input of inputs) {
      const body = formatText({ ...input, description: 'Déploiement “prod” 🚀 with a rather long description indeed', project: 'my-project-name-that-is-long', silentForMs: 120_000, held: { counts: { [input.type]: 2 }, since: now }, charset: 'gsm7', now })
      const info = segmentInfo(body)
      expect(info.encoding).toBe('GSM-7')
      expect(info.units).toBeLessThanOrEqual(160)
      expect(body).toMatch(/^Claude: "/)
      expect(body.endsWith('Reply STOP to disable')).toBe(true)
    }
    expect(toGsm7('“Smart” — naïve café ü 🚀')).toBe('"Smart" - naive café ü ?')
  })

  it('gsm7 still fits when everything is long at once', () => {
    const body = formatText({
      type: 'went_dark',
      description: 'A description that is much too long for one text message anyway',
      project: 'a-project-with-a-long-name',
      silentForMs: 3 * 3_600_000,
      held: { counts: { error: 12, waiting: 3, done: 4, went_dark: 2 }, since: new Date('2026-02-27T09:00:00Z') },
      charset: 'gsm7',
      now,
    })
    expect(segmentInfo(body).units).toBeLessThanOrEqual(160)
    expect(body).toContain('Went dark: no heartbeat for 3 h')
    expect(body).toMatch(/\+21 held since Feb 27 09:00 UTC|Held back since Feb 27 09:00 UTC: 12 errors, 3 waiting, 4 done, 2 went dark/)
  })

  it('keeps the type line in gsm7 so the text still says what happened', () => {
    const body = formatText({ type: 'done', description: 'Refactor', project: 'api', charset: 'gsm7', now })
    expect(body).toBe('Claude: "Refactor"\nCompleted successfully!\nProject: api\n\nReply STOP to disable')
  })

  it('the digest after a pause counts what was held', () => {
    expect(formatDigest({ counts: { error: 1, done: 2 }, since: new Date('2026-03-01T13:00:00Z') }, 'unicode', now)).toBe(
      '🔔 Claude SMS: Pause over, texts resumed.\nWhile paused (since 13:00 UTC): 1 error, 2 done.\nReply STATUS for sessions',
    )
  })
})

describe('what goes into a text', () => {
  it('the brief error is the first line, with the next line after a bare exit code', () => {
    expect(briefError({ error: '\n  TypeError: x is undefined\n    at foo (a.js:1)' })).toBe('TypeError: x is undefined')
    expect(briefError({ tool_name: 'Bash', error: 'Exit code 2\nls: cannot access' })).toBe('Bash: Exit code 2: ls: cannot access')
    expect(briefError({ tool_name: 'Edit' })).toBe('Edit failed')
    expect(briefError({})).toBe('Something failed')
  })

  it("a long message is cut to Claude's question", () => {
    const long = 'I looked at the code. '.repeat(20) + 'Do you want me to rewrite the parser? It would take a while.'
    expect(questionOf(long)).toBe('Do you want me to rewrite the parser?')
    expect(questionOf('Short message')).toBe('Short message')
  })

  it('the project is the basename of cwd, else the session project', () => {
    expect(projectName('fallback', '/home/me/code/api-server/')).toBe('api-server')
    expect(projectName('fallback', 'C:\\Users\\me\\proj')).toBe('proj')
    expect(projectName('fallback', undefined)).toBe('fallback')
    expect(projectName('/home/me/src/billing', undefined)).toBe('billing')
    expect(projectName(null, '')).toBeNull()
  })
})

describe('secrets never leave the server in a text', () => {
  const secrets: [string, string][] = [
    ['Anthropic key', 'export ANTHROPIC=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789'],
    ['OpenAI key', 'key sk-proj-1234567890abcdefghijKLMNOP failed'],
    ['GitHub classic token', 'remote: ghp_0123456789abcdefghijABCDEFGHIJ012345 denied'],
    ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
    ['AWS access key id', 'aws configure AKIAIOSFODNN7EXAMPLE'],
    ['AWS secret', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['JWT', 'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
    ['private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----'],
    ['password=', 'psql failed: password=hunter2secret host=db'],
    ['token=', 'GET /api?token=abc123def456&x=1'],
    ['JSON password', '{"password": "correct horse battery"}'],
    ['Bearer', 'curl -H "Authorization: Bearer abcdefghijklmnop123"'],
    ['URL credentials', 'could not connect to postgres://admin:S3cr3tPass@db.internal:5432/app'],
  ]
  const leaked = ['sk-ant-api03-AbCd', 'sk-proj-1234', 'ghp_0123', 'github_pat_11', 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI', 'eyJhbGciOi', 'b3BlbnNzaC1rZXktdjEAAAAA', 'hunter2secret', 'abc123def456', 'correct horse', 'abcdefghijklmnop123', 'S3cr3tPass']

  it.each(secrets)('redacts a %s', (_name, text) => {
    const out = redactSecrets(text)
    for (const secret of leaked) expect(out).not.toContain(secret)
    expect(out).toContain('[redacted')
  })

  it('keeps ordinary error text readable', () => {
    const text = 'TypeError: Cannot read properties of undefined (reading "map") at src/app.ts:42'
    expect(redactSecrets(text)).toBe(text)
    expect(redactSecrets('postgres://db.internal:5432/app refused')).toBe('postgres://db.internal:5432/app refused')
  })

  it('redacts inside the formatted text, in error, question, description and project', () => {
    const body = formatText({
      type: 'waiting',
      description: 'deploy with token=abc123def456',
      project: 'proj',
      details: { message: 'Use key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 for prod?' },
      charset: 'unicode',
      now,
    })
    expect(body).not.toContain('abc123def456')
    expect(body).not.toContain('sk-ant-api03')
    const err = formatText({ type: 'error', description: 'd', details: { error: 'fatal: https://bob:ghp_0123456789abcdefghijABCDEFGHIJ012345@github.com/x.git' }, charset: 'gsm7', now })
    expect(err).not.toContain('ghp_0123')
    expect(err).toContain('https://[redacted]@github.com')
  })
})

describe('replies to STATUS', () => {
  const session = (description: string, status: 'active' | 'stale') => ({
    id: 'x', userId: 'u', claudeSessionId: 'c', description, hostname: null, project: 'api', status, heartbeatIntervalMs: 30_000,
    startedAt: now, lastHeartbeatAt: new Date('2026-03-01T14:10:00Z'), staleAt: null, stoppedAt: null,
  })
  it('lists sessions, says which went dark, and stays GSM-7 when asked', () => {
    const reply = statusReply([session('Déploiement 🚀 token=abc123def456', 'active'), session('Docs', 'stale')], { optedOutAt: null, pausedUntil: new Date('2026-03-01T16:00:00Z') }, now, 'gsm7')
    expect(reply).toBe('2 sessions monitored:\n- "Déploiement ? token=[redacted]" (api): active\n- "Docs" (api): went dark, last heartbeat 14:10 UTC\nTexts paused until 16:00 UTC (RESUME to resume).')
    expect(segmentInfo(reply).encoding).toBe('GSM-7')
  })
  it('redacts every string of stored event details', () => {
    expect(redactSecretsDeep({ error: 'password=hunter2', nested: [{ cmd: 'export KEY=sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789' }], n: 3 })).toEqual({
      error: 'password=[redacted]',
      nested: [{ cmd: 'export KEY=[redacted]' }],
      n: 3,
    })
  })

  it('redacts stored details at any depth they may have (20 levels), keys included', () => {
    const key = 'sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa'
    let details: unknown = { cmd: `export ANTHROPIC_API_KEY=${key}`, [key]: 'named by the key' }
    for (let i = 0; i < 19; i++) details = i % 2 ? { level: details } : [details]
    const stored = JSON.stringify(redactSecretsDeep({ nested: details }))
    expect(stored).not.toContain('Zx9Yw8Vu7Ts6')
    expect(stored).toContain('named by the key')
  })
})

describe('every text fits, whatever the session sends (property)', () => {
  const text = fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '\n', 'é', 'ï', '€', '{', '“', '🚀', '漢', '"', '=', 'k'), maxLength: 600 })
  const input = fc.record({
    type: fc.constantFrom('error' as const, 'done' as const, 'waiting' as const, 'went_dark' as const),
    description: text,
    project: fc.option(text),
    error: text,
    message: text,
    held: fc.option(fc.record({ error: fc.nat(999), waiting: fc.nat(999), done: fc.nat(999), went_dark: fc.nat(999) })),
    silentForMs: fc.nat(10 * 86_400_000),
  })
  it('gsm7: one GSM-7 segment ending with the STOP line; unicode: at most three segments', () => {
    fc.assert(
      fc.property(input, (i) => {
        for (const charset of ['gsm7', 'unicode'] as const) {
          const body = formatText({
            type: i.type,
            description: i.description,
            project: i.project,
            details: { error: i.error, message: i.message },
            held: i.held ? { counts: i.held, since: new Date('2026-02-27T09:00:00Z') } : null,
            silentForMs: i.silentForMs,
            charset,
            now,
          })
          const info = segmentInfo(body)
          expect(body.endsWith('\n\nReply STOP to disable')).toBe(true)
          if (charset === 'gsm7') {
            expect(info.encoding).toBe('GSM-7')
            expect(info.units).toBeLessThanOrEqual(160)
          } else expect(info.segments).toBeLessThanOrEqual(3)
        }
      }),
      { numRuns: 300 },
    )
  })
})
