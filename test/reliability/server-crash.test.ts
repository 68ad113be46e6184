import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSql } from '../../server/db/connect.js'
import { freePort } from '../../server/db/embedded.js'
import { driveSessions, type LoadSession } from '../support/load.js'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'
import { api } from '../support/monitoring.js'
import { queuedInOutbox, writePairing } from '../support/plugin-pairing.js'
import { listeningUrl, spawnServer, type SpawnedServer } from '../support/process.js'
import { TEST_JWT_SECRET, testConfig, TWILIO_FROM } from '../support/server.js'
import { startTwilioEndpoint, type TwilioEndpoint } from '../support/twilio-endpoint.js'
import { until } from '../support/until.js'
import { pairedUser, testPhone } from '../support/users.js'

// kill -9 of the built server (the embedded PostgreSQL default: no DATABASE_URL) while 20 monitored
// sessions post events and heartbeats: 8 real MCP server processes (node dist/mcp/main.js over stdio,
// the MCP SDK client, hook events posted as the forwarder posts them) and 12 API clients that retry
// the way the outbox does. Then the server starts again on the same DATA_DIR and port.

const MCP_SESSIONS = 8
const API_SESSIONS = 12
const API_EVENTS = 10

let dataDir: string
let port: number
let twilio: TwilioEndpoint
const servers: SpawnedServer[] = []
const mcps: McpProcess[] = []
let sql: Sql | undefined

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'claude-sms-crash-'))
  port = await freePort()
  twilio = await startTwilioEndpoint()
})

afterAll(async () => {
  await Promise.all(mcps.map((p) => p.close()))
  await sql?.end({ timeout: 5 })
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGTERM')
  await Promise.all(servers.map((s) => s.exited))
  await twilio?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

function startServer(): SpawnedServer {
  const s = spawnServer({
    PORT: String(port),
    DATA_DIR: dataDir,
    DATABASE_URL: undefined,
    JWT_SECRET: TEST_JWT_SECRET,
    // Every session here comes from 127.0.0.1; production allows 100 requests a minute per address.
    IP_RATE_LIMIT_PER_MINUTE: '100000',
    ...twilio.serverEnv(TWILIO_FROM),
  })
  servers.push(s)
  return s
}

/** The embedded PostgreSQL this server process started, from its log line. */
async function databaseOf(s: SpawnedServer): Promise<Sql> {
  const line = await s.waitForLine(/embedded PostgreSQL is running/)
  const { port: pgPort } = JSON.parse(line) as { port: number }
  const password = readFileSync(join(dataDir, 'pg-password'), 'utf8').trim()
  return createSql(`postgres://postgres:${password}@127.0.0.1:${pgPort}/postgres`, { max: 2 })
}

/** Event ids the MCP process logged as delivered (acknowledged by the server), in its stderr so far. */
const deliveredIds = (p: McpProcess) =>
  p.stderr
    .map((l) => JSON.parse(l) as { msg?: string; event_id?: string; kind?: string })
    .filter((e) => e.msg === 'outbox entry delivered' && e.kind === 'event')
    .map((e) => e.event_id!)

describe('the server killed with -9 under load', () => {
  it('after a restart on the same data directory and port, every acknowledged event is stored once, no text goes out twice, and the outboxes deliver the rest', async () => {
    const first = startServer()
    const url = await listeningUrl(first)
    sql = await databaseOf(first)
    const config = testConfig({ JWT_SECRET: TEST_JWT_SECRET })

    // A user per session: the text rate limit is per user and type, so texts can be counted.
    const apiSessions: LoadSession[] = []
    for (let i = 0; i < API_SESSIONS; i++) {
      const phone = testPhone()
      const { accessToken } = await pairedUser(sql, config, { phone })
      const started = await api(url, 'POST', '/sessions/start', { token: accessToken, body: { claude_session_id: randomUUID(), description: `batch job ${i}` } })
      expect(started.status).toBe(200)
      apiSessions.push({ id: started.body.monitoring_id as string, token: started.body.session_token as string, phone })
    }
    const plugins: { dirs: PluginDirs; p: McpProcess; phone: string }[] = []
    for (let i = 0; i < MCP_SESSIONS; i++) {
      const phone = testPhone()
      const { accessToken } = await pairedUser(sql, config, { phone })
      const dirs = pluginDirs()
      writePairing(dirs, url, accessToken, phone)
      const p = await startMcp({ dirs, sessionId: `crash-${i}`, env: { CLAUDE_SMS_AUTH_URL: url, CLAUDE_SMS_RETRY_BASE_MS: '100', CLAUDE_SMS_HEARTBEAT_INTERVAL: '300' } })
      mcps.push(p)
      const started = await p.call('sms_start', { description: `plugin session ${i}` })
      expect(started.isError, started.text).toBe(false)
      plugins.push({ dirs, p, phone })
    }
    const failTool = (p: McpProcess, step: string) => p.hook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', tool_input: { command: 'make' }, error: `make: *** [${step}] Error 2` })
    const hooked = new Map<McpProcess, number>()
    const hookAll = async (step: string) => {
      for (const { p } of plugins) {
        expect((await failTool(p, step)).status).toBe(204)
        hooked.set(p, (hooked.get(p) ?? 0) + 1)
      }
    }

    // Load: the API clients stream their events; every plugin reports failures, some delivered
    // before the kill, some in flight when it lands.
    const driver = driveSessions(() => url, apiSessions, { eventsPerSession: API_EVENTS })
    await hookAll('build')
    for (const { dirs } of plugins) await until('the first plugin events are delivered', () => queuedInOutbox(dirs) === 0)
    await hookAll('test')
    await driver.acked(API_SESSIONS * 3)

    first.proc.kill('SIGKILL')
    await first.exited
    driver.epoch = 1
    const ackedBeforeKill = [...driver.acks.map((a) => a.eventId), ...mcps.flatMap(deliveredIds)]
    await sql.end({ timeout: 1 }).catch(() => undefined)
    sql = undefined

    // While the server is down, the plugins queue what happens on disk.
    await hookAll('lint')
    expect(plugins.some(({ dirs }) => queuedInOutbox(dirs) > 0)).toBe(true)

    const second = startServer()
    expect(await listeningUrl(second)).toBe(url)
    // The embedded PostgreSQL left running by the killed server is stopped and started again by itself.
    expect(second.lines.join('\n')).toMatch(/stopped a PostgreSQL left running by an earlier run that was killed/)
    sql = await databaseOf(second)
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    await hookAll('deploy')

    await driver.done
    for (const { dirs } of plugins) await until('every plugin outbox is empty', () => queuedInOutbox(dirs) === 0)

    // Every event is stored exactly once, all those acknowledged before the kill among them.
    const rows = await sql<{ event_id: string; session_id: string; n: number; outcome: string }[]>`
      select event_id, min(session_id::text) as session_id, count(*)::int as n, min(outcome) as outcome
      from session_events where event_id is not null group by event_id`
    const stored = new Map(rows.map((r) => [r.event_id, r]))
    expect(ackedBeforeKill.length).toBeGreaterThan(API_SESSIONS * 3)
    expect(ackedBeforeKill.filter((id) => !stored.has(id))).toEqual([])
    // Nothing was given up on: the outboxes drop only what the server will never take.
    expect(mcps.flatMap((p) => p.stderr.filter((l) => /refused an outbox entry|gave up an outbox entry/.test(l)))).toEqual([])
    const allIds = [...driver.eventIds, ...mcps.flatMap(deliveredIds)]
    expect(allIds).toHaveLength(API_SESSIONS * API_EVENTS + [...hooked.values()].reduce((a, b) => a + b, 0))
    expect(allIds.filter((id) => stored.get(id)?.n !== 1)).toEqual([])
    expect(rows.filter((r) => r.outcome === 'pending')).toEqual([])
    // Each plugin's session holds exactly the failures it was told about.
    const perSession = await sql<{ claude_session_id: string; n: number }[]>`
      select s.claude_session_id, count(e.id)::int as n from monitoring_sessions s join session_events e on e.session_id = s.id
      where s.claude_session_id like 'crash-%' and e.event_type = 'error' group by s.claude_session_id`
    expect(perSession.map((r) => r.n)).toEqual(Array(MCP_SESSIONS).fill(4))

    // One error text per user: the rate limit and the event_id dedupe survived the crash.
    for (const { phone } of [...apiSessions, ...plugins]) {
      const errors = twilio.messages.filter((m) => m.to === phone && m.body.startsWith('⚠️'))
      expect(errors, phone).toHaveLength(1)
    }
    const bodies = twilio.messages.map((m) => `${m.to}\n${m.body}`)
    expect(new Set(bodies).size).toBe(bodies.length)
  }, 240_000)
})
