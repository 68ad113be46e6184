import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { createSql } from '../server/db/connect.js'
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../server/db/embedded.js'
import { codeTextedTo, pairRemotely } from '../test/support/pairing.js'
import { startTwilioEndpoint } from '../test/support/twilio-endpoint.js'
import { startChild, serverUrl, type Child } from './processes.js'
import { formatTable, type Row } from './report.js'
import { benchApprovalReply, benchApprovalToHook } from './sections/approvals.js'
import { benchEmbeddedPostgres } from './sections/embedded-postgres.js'
import { benchEventLatency, benchHookCost, benchWaitingHookMemory, hookCommand } from './sections/hooks.js'
import { benchMcpMemoryUnderEvents, benchMcpStartup, startMonitoringMcp } from './sections/mcp.js'
import { benchScale } from './sections/scale.js'
import { benchServerLoad } from './sections/server-load.js'

// `npm run bench`: starts what it needs on 127.0.0.1 (PostgreSQL, the server, the Twilio-compatible
// endpoint, MCP servers), measures, stops everything, prints a table and writes bench/results.json.
// Every figure is compared with a baseline measured in this same run: the machine is noisy, so
// repeats, medians and ratios. `--quick` runs fewer repeats (a smoke run). `--only=server,scale`
// runs the named sections only (postgres, server, scale, approvals, mcp, hooks), e.g. while working on one of them.
// BENCH_SERVER_SCRIPT=<path>/build/server/main.js measures another build of the server (an older
// commit, for a before/after in the same conditions) in the server and scale sections.
// BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes arguments to node for that server
// (here: a CPU profile of it under the load, written when it stops).

const quick = process.argv.includes('--quick')
const SECTIONS = ['postgres', 'server', 'scale', 'approvals', 'mcp', 'hooks'] as const
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',')
if (only?.some((s) => !(SECTIONS as readonly string[]).includes(s))) throw new Error(`--only takes a list of: ${SECTIONS.join(', ')}`)
const want = (section: (typeof SECTIONS)[number]) => !only || only.includes(section)
const log = (m: string) => process.stderr.write(`${m}\n`)
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0123456789'
const BENCH_PUBLIC_URL = 'https://bench.example.test'

async function main() {
  const started = Date.now()
  const rows: Row[] = []
  const work = mkdtempSync(join(tmpdir(), 'claude-sms-bench-'))
  const children: Child[] = []
  let embedded: EmbeddedDatabase | undefined
  const twilio = await startTwilioEndpoint()
  const cleanups: (() => Promise<unknown>)[] = []
  try {
    if (want('postgres')) {
      log('== embedded PostgreSQL start, cold and warm')
      rows.push(...(await benchEmbeddedPostgres({ repeats: quick ? 1 : 3, log })))
    }

    let databaseUrl = process.env.DATABASE_URL
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: join(work, 'pg'), persistent: false })
      databaseUrl = embedded.url
    }

    log('== starting the server and a bare Express baseline')
    // The built server (or BENCH_SERVER_SCRIPT's), on 127.0.0.1 with the local Twilio endpoint; the
    // per-address limit is set aside, the load comes from one address.
    const startServer = async (dataDir: string, env: NodeJS.ProcessEnv) => {
      const child = await startChild(
        process.env.BENCH_SERVER_SCRIPT ?? 'build/server/main.js',
        [],
        {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          NODE_ENV: 'development',
          PORT: '0',
          DATA_DIR: join(work, dataDir),
          DATABASE_URL: databaseUrl,
          JWT_SECRET,
          ...twilio.serverEnv('+15005550006'),
          IP_RATE_LIMIT_PER_MINUTE: '1000000000',
          LOG_LEVEL: 'info',
          ...env,
        },
        serverUrl,
        undefined,
        process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean),
      )
      children.push(child)
      return child
    }
    const server = await startServer('data', {
      // The text rate limit (1 per 30 min per type) would turn every event after the first into a
      // cheap 429: set it aside so each event is really texted.
      SMS_RATE_LIMIT_MINUTES: '0',
      // What Twilio signs its webhooks for (the approvals section signs the phone's replies with it).
      PUBLIC_URL: BENCH_PUBLIC_URL,
    })
    const bare = await startChild('build/bench/bare-express.js', [], { PATH: process.env.PATH }, serverUrl)
    children.push(bare)

    // A paired user with a monitored session, through the API as the plugin does it.
    const phone = '+14155550100'
    const { accessToken } = await pairRemotely(server.url, twilio, phone)
    const startRes = await fetch(`${server.url}/sessions/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
      body: JSON.stringify({ claude_session_id: randomUUID(), description: 'Benchmark load', project: 'bench', hostname: 'bench' }),
    })
    const session = (await startRes.json()) as { session_token: string; monitoring_id: string }
    if (!session.session_token) throw new Error(`POST /sessions/start answered ${startRes.status}: ${JSON.stringify(session)}`)
    const sessionAuth = { authorization: `Bearer ${session.session_token}` }

    if (want('server')) {
      log('== server throughput and latency under load (autocannon), against bare Express')
      rows.push(
        ...(await benchServerLoad({
          repeats: quick ? 1 : 3,
          seconds: quick ? 2 : 5,
          connections: 10,
          alsoMeasure: [
            ...(embedded ? [{ name: 'PostgreSQL', pid: Number(readFileSync(join(embedded.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]), withChildren: true }] : []),
            { name: 'bench process (load generator and Twilio endpoint)', pid: process.pid },
          ],
          log,
          baseline: { name: 'bare Express', url: `${bare.url}/bare`, pid: bare.proc.pid, body: () => ({ timestamp: new Date().toISOString(), last_activity: null }) },
          targets: [
            { name: 'POST /sessions/:id/heartbeat', url: `${server.url}/sessions/${session.monitoring_id}/heartbeat`, headers: sessionAuth, pid: server.proc.pid, minRatio: 0.5, body: () => ({ timestamp: new Date().toISOString(), last_activity: new Date().toISOString() }) },
            {
              name: 'POST /sessions/:id/events (texted)',
              url: `${server.url}/sessions/${session.monitoring_id}/events`,
              headers: sessionAuth,
              pid: server.proc.pid,
              minRatio: 0.3,
              body: () => ({ event_type: 'error', timestamp: new Date().toISOString(), event_id: randomUUID(), details: { tool_name: 'Bash', error: 'Exit code 1\nnpm ERR! test failed', cwd: '/work/bench' } }),
            },
          ],
        })),
      )
    }

    if (want('scale')) {
      log('== scale: monitored sessions one server process holds')
      // A server of its own with the production text rate limit (1 per 30 min per user and type).
      const scaleServer = await startServer('data-scale', {})
      const sql = createSql(databaseUrl, { max: 2 })
      try {
        rows.push(
          ...(await benchScale({
            server: { url: scaleServer.url, pid: scaleServer.proc.pid! },
            sql,
            pgDataDir: embedded?.dataDir,
            steps: quick ? [500, 1000] : [1000, 2000, 4000, 8000, 16000, 32000, 64000],
            stepSeconds: quick ? 3 : 8,
            budgetSeconds: quick ? 20 : 100,
            log,
          })),
        )
      } finally {
        await sql.end({ timeout: 5 })
        await scaleServer.stop()
      }
    }

    const mcpEnv = { CLAUDE_SMS_AUTH_URL: server.url }
    const hookEnv = (home: { home: string; config: string }, pluginData: string, sessionId: string, configHome = home.config): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: home.home,
      XDG_CONFIG_HOME: configHome,
      CLAUDE_PLUGIN_ROOT: process.cwd(),
      CLAUDE_PLUGIN_DATA: pluginData,
      CLAUDE_PID: String(process.pid), // the MCP server's parent is this process, as it is Claude Code in real use
      CLAUDE_CODE_SESSION_ID: sessionId,
    })

    if (want('approvals')) {
      log('== approvals: the phone\'s reply to the long poll\'s answer')
      rows.push(...(await benchApprovalReply({ serverUrl: server.url, publicUrl: BENCH_PUBLIC_URL, twilio, accessToken, phone, requests: quick ? 10 : 50, log })))
      log('== approvals: the phone\'s reply to the PermissionRequest hook printing the decision')
      const approvalsPhone = '+14155550102'
      const approvalsSession = `bench-approvals-${randomUUID()}`
      const waiting = await startMonitoringMcp({
        env: { ...mcpEnv, CLAUDE_SMS_APPROVALS: '1', CLAUDE_SMS_INACTIVITY_THRESHOLD: '100' },
        phone: approvalsPhone,
        sessionId: approvalsSession,
        // sms_setup answers once the code is texted.
        code: async () => codeTextedTo(twilio, approvalsPhone),
      })
      // Stopped before the next sections, whose memory and timing it would otherwise share.
      try {
        const hook = hookCommand('PermissionRequest')
        const plainHook = hookCommand('PostToolUse')
        if (!hook || !plainHook) throw new Error('hooks/hooks.json has no PermissionRequest or PostToolUse hook')
        rows.push(
          ...(await benchApprovalToHook({
            serverUrl: server.url,
            publicUrl: BENCH_PUBLIC_URL,
            twilio,
            phone: approvalsPhone,
            hook,
            plainHook,
            env: hookEnv(waiting.dirs, waiting.dirs.pluginData, approvalsSession),
            sessionId: approvalsSession,
            requests: quick ? 10 : 40,
            log,
          })),
        )
      } finally {
        await waiting.mcp.close()
      }
    }

    if (want('mcp')) {
      log('== MCP server: start, memory, tools')
      const startup = await benchMcpStartup({ repeats: quick ? 2 : 5, env: mcpEnv, log })
      rows.push(...startup.rows)
    }

    if (want('hooks') || want('mcp')) {
      const sessionId = `bench-${randomUUID()}`
      const mcpPhone = '+14155550101'
      const { mcp, dirs } = await startMonitoringMcp({ env: mcpEnv, phone: mcpPhone, sessionId, code: async () => (await twilio.waitForMessages(1), codeTextedTo(twilio, mcpPhone)) })
      cleanups.push(() => mcp.close())
      if (want('hooks')) {
        log('== hooks: cost to Claude Code, latency to the provider, memory while waiting')
        const unmonitoredData = mkdtempSync(join(work, 'unmonitored-'))
        const nothingSaved = mkdtempSync(join(work, 'nothing-saved-'))
        rows.push(
          ...(await benchHookCost({
            repeats: quick ? 10 : 40,
            unmonitoredEnv: hookEnv(dirs, unmonitoredData, sessionId),
            idleEnv: hookEnv(dirs, dirs.pluginData, sessionId, nothingSaved),
            monitoredEnv: hookEnv(dirs, dirs.pluginData, sessionId),
            sessionId,
            log,
          })),
        )
        rows.push(...(await benchEventLatency({ events: quick ? 30 : 200, env: hookEnv(dirs, dirs.pluginData, sessionId), sessionId, twilio, to: mcpPhone, log })))
        const waitingData = mkdtempSync(join(work, 'waiting-'))
        mkdirSync(join(waitingData, 'run'), { mode: 0o700 })
        rows.push(...(await benchWaitingHookMemory({ repeats: quick ? 1 : 3, holdMs: quick ? 1000 : 3000, env: hookEnv(dirs, waitingData, sessionId), runDir: join(waitingData, 'run'), claudePid: process.pid, sessionId, log })))
      }
      if (want('mcp')) rows.push(...(await benchMcpMemoryUnderEvents({ mcp, events: 1000, settleMs: 10_000, log })))
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
    for (const child of children) await child.stop()
    await twilio.close()
    await embedded?.stop()
    rmSync(work, { recursive: true, force: true })
  }

  console.log(formatTable(rows))
  mkdirSync('bench', { recursive: true })
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
    quick,
    only: only ?? null,
    duration_s: Math.round((Date.now() - started) / 1000),
    rows,
  }
  writeFileSync('bench/results.json', `${JSON.stringify(results, null, 2)}\n`)
  log(`bench finished in ${results.duration_s} s; results in bench/results.json`)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
