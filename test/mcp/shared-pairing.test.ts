import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { AuthFile } from '../../mcp/store.js'
import { manualClock } from '../../server/clock.js'
import { useTestDatabase } from '../support/db.js'
import { listenOnLoopback, type Listening } from '../support/listen.js'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'
import { writePairing } from '../support/plugin-pairing.js'
import { recordSecret } from '../support/secrets.js'
import { useTestServer } from '../support/server.js'
import { pairedUser } from '../support/users.js'

/**
 * Two Claude Code sessions of one person: two MCP server processes (node dist/mcp/main.js over stdio,
 * the real MCP SDK client) sharing one auth.json, against the real server, which rotates a token when it
 * is refreshed. Between them sits a pass-through on 127.0.0.1 that lets the test order their requests.
 */
const db = useTestDatabase()
const clock = manualClock(new Date())
const server = useTestServer(() => ({ sql: db.sql, clock, name: 'mcp-shared-pairing', env: { MAX_LIVE_SESSIONS_PER_USER: '2' } }))

/** Forwards every request to the server; `before` runs once before the first request to `path`. */
let relay: Listening
let interpose: { path: string; before: () => Promise<void> } | undefined
beforeAll(async () => {
  relay = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        const hook = interpose && req.url === interpose.path ? interpose : undefined
        if (hook) {
          interpose = undefined
          await hook.before()
        }
        const answer = await fetch(server.url + req.url, {
          method: req.method,
          headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k === 'authorization' || k === 'content-type')) as Record<string, string>,
          body: chunks.length ? Buffer.concat(chunks) : undefined,
          signal: AbortSignal.timeout(10_000),
        })
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
        res.end(Buffer.from(await answer.arrayBuffer()))
      })().catch((error: unknown) => {
        res.writeHead(502).end(String(error))
      })
    })
  })
})
afterAll(() => relay?.close())

const running: McpProcess[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
})

async function session(dirs: PluginDirs, sessionId: string) {
  // Each Claude Code session has its own plugin data (run file); the configuration directory is shared.
  const own = { ...dirs, pluginData: pluginDirs().pluginData }
  const p = await startMcp({ dirs: own, sessionId, env: { CLAUDE_SMS_AUTH_URL: relay.url } })
  running.push(p)
  return p
}

const authFile = (dirs: PluginDirs) => join(dirs.config, 'claude-sms-notifier', 'auth.json')
const readAuth = (dirs: PluginDirs) => AuthFile.parse(JSON.parse(readFileSync(authFile(dirs), 'utf8')))

describe('one person, two Claude Code sessions, one auth.json', () => {
  it('a session whose token another session rotated meanwhile uses the newer token instead of unpairing both', async () => {
    const dirs = pluginDirs()
    const { accessToken, user } = await pairedUser(db.sql, server.config, { clock })
    writePairing(dirs, relay.url, accessToken, user.phoneE164)
    const first = await session(dirs, 'session-a')
    const second = await session(dirs, 'session-b')

    // The second session reads auth.json and sends /sessions/start with the token in it. Before that
    // request arrives, the first session refreshes the token (it is past half its life) and more than
    // the server's grace for the old token passes.
    interpose = {
      path: '/sessions/start',
      before: async () => {
        const auth = readAuth(dirs)
        const now = Date.now()
        writeFileSync(authFile(dirs), JSON.stringify({ ...auth, paired_at: new Date(now - 20 * 3_600_000).toISOString(), expires_at: new Date(now + 16 * 3_600_000).toISOString() }), { mode: 0o600 })
        const status = await first.call('sms_status')
        expect(status.structured.paired).toBe(true)
        expect(readAuth(dirs).access_token).not.toBe(accessToken)
        recordSecret('token', readAuth(dirs).access_token)
        clock.advance(2 * 60_000)
      },
    }
    const started = await second.call('sms_start', { description: 'Migrate the invoices table' })
    expect(started.isError).toBe(false)
    expect(started.text).toContain('Monitoring "Migrate the invoices table"')
    expect(interpose).toBeUndefined()

    // Both sessions are still paired, with the rotated token.
    const rotated = readAuth(dirs).access_token
    expect(rotated).not.toBe(accessToken)
    expect((await first.call('sms_status')).structured.paired).toBe(true)
    expect(readAuth(dirs).access_token).toBe(rotated)
  })

  it('logout from one session revokes the pairing for both, even after the other rotated the token', async () => {
    const dirs = pluginDirs()
    const { accessToken, user } = await pairedUser(db.sql, server.config, { clock })
    writePairing(dirs, relay.url, accessToken, user.phoneE164)
    const first = await session(dirs, 'session-a')
    const second = await session(dirs, 'session-b')
    const auth = readAuth(dirs)
    const now = Date.now()
    writeFileSync(authFile(dirs), JSON.stringify({ ...auth, paired_at: new Date(now - 20 * 3_600_000).toISOString(), expires_at: new Date(now + 16 * 3_600_000).toISOString() }), { mode: 0o600 })
    expect((await first.call('sms_status')).structured.paired).toBe(true)
    const rotated = readAuth(dirs).access_token
    recordSecret('token', rotated)

    const out = await second.call('sms_logout')
    expect(out.structured.server_told).toBe(true)
    for (const token of [accessToken, rotated]) {
      const res = await fetch(`${server.url}/auth/refresh`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) })
      expect(res.status).toBe(401)
    }
    expect((await first.call('sms_status')).text).toContain('Not paired yet. Run /sms-notifier:sms-setup first.')
  })

  it('a session beyond the person\'s limit of running sessions is told to stop some, not to wait a minute', async () => {
    const dirs = pluginDirs()
    const { accessToken, user } = await pairedUser(db.sql, server.config, { clock })
    writePairing(dirs, relay.url, accessToken, user.phoneE164)
    const sessions = [await session(dirs, 'session-a'), await session(dirs, 'session-b'), await session(dirs, 'session-c')]
    for (const s of sessions.slice(0, 2)) expect((await s.call('sms_start', { description: 'Long refactor' })).isError).toBe(false)
    const refused = await sessions[2]!.call('sms_start', { description: 'One too many' })
    expect(refused.isError).toBe(true)
    expect(refused.text).toMatch(/2 monitored sessions running.*Stop the ones you no longer need \(\/sms-notifier:sms-stop/)
    expect(refused.text).not.toMatch(/Wait a minute/)
  })
})
