import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as pause } from 'node:timers/promises'
import { afterAll, describe, expect, it } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { freePort } from '../../server/db/embedded.js'
import { createEmptyDatabase } from '../support/db.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { pairRemotely } from '../support/pairing.js'
import { recordSecret } from '../support/secrets.js'
import { TEST_JWT_SECRET, TWILIO_FROM } from '../support/server.js'
import { startTwilioEndpoint } from '../support/twilio-endpoint.js'

// These tests run the built server (`npm start` runs the same file) as real processes.
const started: SpawnedServer[] = []
afterAll(async () => {
  for (const s of started) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL')
})
function start(env: Record<string, string | undefined>) {
  const s = spawnServer({ PORT: '0', JWT_SECRET: TEST_JWT_SECRET, ...env })
  started.push(s)
  return s
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')
  } catch {
    return false
  }
}
const postmasterPid = (dataDir: string) => Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0])

describe('two servers starting at once on an empty database', () => {
  it('both come up and the schema is applied once', async () => {
    const db = await createEmptyDatabase()
    try {
      const a = start({ DATABASE_URL: db.url })
      const b = start({ DATABASE_URL: db.url })
      const [urlA, urlB] = await Promise.all([listeningUrl(a), listeningUrl(b)])
      for (const url of [urlA, urlB]) expect((await fetch(`${url}/healthz`)).status).toBe(200)
      const appliers = [a, b].filter((s) => s.lines.some((l) => l.includes('database schema updated')))
      expect(appliers).toHaveLength(1)
      const sql = createSql(db.url, { max: 1 })
      const versions = await sql<{ version: string }[]>`select version from schema_migrations order by version`
      await sql.end()
      expect(versions.map((v) => v.version)[0]).toBe('0001_init.sql')
      expect(new Set(versions.map((v) => v.version)).size).toBe(versions.length)
      a.proc.kill('SIGTERM')
      b.proc.kill('SIGTERM')
      expect((await a.exited).code).toBe(0)
      expect((await b.exited).code).toBe(0)
    } finally {
      await db.drop()
    }
  })
})

describe('the embedded PostgreSQL default (no DATABASE_URL)', () => {
  it('starts, says so, survives kill -9 of the server, and stops with it on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'claude-sms-embedded-'))
    const first = start({ DATA_DIR: dataDir, DATABASE_URL: undefined })
    const url = await listeningUrl(first)
    expect(first.lines.join('\n')).toMatch(/DATABASE_URL is not set: starting the embedded PostgreSQL/)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const orphan = postmasterPid(dataDir)

    first.proc.kill('SIGKILL')
    await first.exited
    expect(isAlive(orphan)).toBe(true) // the postmaster outlives a killed server and holds the data dir

    const second = start({ DATA_DIR: dataDir, DATABASE_URL: undefined })
    const url2 = await listeningUrl(second)
    expect(second.lines.join('\n')).toMatch(/stopped a PostgreSQL left running by an earlier run/)
    expect(isAlive(orphan)).toBe(false)
    expect((await fetch(`${url2}/healthz`)).status).toBe(200)
    const postmaster = postmasterPid(dataDir)

    second.proc.kill('SIGTERM')
    const exit = await second.exited
    expect(exit.code).toBe(0)
    expect(second.lines.join('\n')).toMatch(/stopped cleanly/)
    expect(isAlive(postmaster)).toBe(false)
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false)
  })
})

describe('graceful shutdown', () => {
  it('on SIGTERM finishes the request in flight before exiting', async () => {
    const db = await createEmptyDatabase()
    const twilio = await startTwilioEndpoint()
    try {
      const server = start({ DATABASE_URL: db.url, ...twilio.serverEnv(TWILIO_FROM) })
      const url = await listeningUrl(server)
      const { accessToken } = await pairRemotely(url, twilio, '+14155550142')
      const startRes = await fetch(`${url}/sessions/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
        body: JSON.stringify({ claude_session_id: 'graceful-1', description: 'Long migration' }),
      })
      const session = (await startRes.json()) as { session_token: string; monitoring_id: string }

      // The provider holds its answer, so the event request is in flight when SIGTERM arrives.
      const release = twilio.hold()
      const attempts = twilio.attempts
      const inFlight = fetch(`${url}/sessions/${session.monitoring_id}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${session.session_token}` },
        body: JSON.stringify({ event_type: 'error', timestamp: new Date().toISOString(), details: { error: 'Exit code 1' } }),
      })
      await twilio.waitForAttempts(attempts + 1)
      server.proc.kill('SIGTERM')
      await server.waitForLine(/shutting down: finishing requests in flight/)
      release()
      const res = await inFlight
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ sms_sent: true })
      expect((await server.exited).code).toBe(0)
      expect(server.lines.join('\n')).toMatch(/stopped cleanly/)
    } finally {
      await twilio.close()
      await db.drop()
    }
  })
})

describe('a bad configuration', () => {
  it('stops start-up with one line naming the variable', async () => {
    const s = start({ JWT_SECRET: 'too-short', DATA_DIR: mkdtempSync(join(tmpdir(), 'cfg-')) })
    const exit = await s.exited
    expect(exit.code).toBe(1)
    expect(s.lines).toEqual(['Invalid configuration: JWT_SECRET must be at least 32 bytes (got 9); generate one with: openssl rand -base64 48'])
  })
})

describe('console mode (no Twilio settings), as a newcomer first runs it', () => {
  for (const level of ['silent', 'error'] as const) {
    it(`prints the pairing code on the terminal with LOG_LEVEL=${level}, and keeps it out of the JSON log`, async () => {
      const db = await createEmptyDatabase()
      try {
        const port = await freePort()
        const server = start({ DATABASE_URL: db.url, LOG_LEVEL: level, PORT: String(port), DATA_DIR: mkdtempSync(join(tmpdir(), 'console-mode-')) })
        const url = `http://127.0.0.1:${port}`
        await answering(url, server)
        const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '+14155550177', state: 'console-state-1', mode: 'remote' }) })
        expect(login.status).toBe(200)
        const { temp_token: tempToken, sms } = (await login.json()) as { temp_token: string; sms?: string }
        recordSecret('token', tempToken)
        expect(sms).toBe('console')
        const line = await server.waitForLine(/^\[console text\] to \+1\*\*\*0177: .*code is \d{6}/)
        const code = /code is (\d{6})/.exec(line)![1]!
        recordSecret('code', code)
        const exchange = await fetch(`${url}/auth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ temp_token: tempToken, pairing_code: code }) })
        expect(exchange.status).toBe(200)
        recordSecret('token', ((await exchange.json()) as { access_token: string }).access_token)
        expect(server.lines.filter((l) => l.includes(code))).toEqual([line])
        expect(line).not.toContain('4155550177')
        server.proc.kill('SIGTERM')
        expect((await server.exited).code).toBe(0)
      } finally {
        await db.drop()
      }
    })
  }
})

/** Waits until the server answers /healthz (with LOG_LEVEL=silent there is no "listening" line to wait for). */
async function answering(url: string, server: SpawnedServer): Promise<void> {
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`the server exited: ${server.lines.join('\n')}`)
    if ((await fetch(`${url}/healthz`).catch(() => undefined))?.status === 200) return
    await pause(50)
  }
}
