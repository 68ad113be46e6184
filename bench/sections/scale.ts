import { readFileSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { cpuSeconds } from '../processes.js'
import type { Row } from '../report.js'
import { round, summarize } from '../stats.js'

/**
 * How many monitored sessions one server process holds. Each simulated session beats every 30 s and
 * sends an event every 3 minutes on average (a tenth of them texted, the rest held by the text rate
 * limit: 429, counted in the next text), as the plugin does. Time is compressed by spreading those
 * requests at random (Poisson arrivals at N/30 heartbeats and N/180 events a second over N session
 * rows), so a few seconds carry the load of N sessions without waiting 30 s for every round. The
 * number of sessions doubles from step to step until the heartbeat p99 passes 100 ms (or the load
 * generator, in this same process, cannot keep up, or the time budget is spent). Reported: the
 * largest N whose heartbeat p99 stayed under 100 ms, and the server's CPU (user + sys of its process,
 * from /proc) and PostgreSQL's per 1,000 sessions.
 */

export interface ScaleOptions {
  /** The server under test: its url and pid (a process of its own, the text rate limit on). */
  server: { url: string; pid: number }
  /** Its database, to create the sessions and read the PostgreSQL process tree. */
  sql: Sql
  /** The PostgreSQL data directory (postmaster.pid), when the bench started it; its CPU is then reported too. */
  pgDataDir?: string
  steps: number[]
  stepSeconds: number
  budgetSeconds: number
  log: (m: string) => void
}

const HEARTBEAT_EVERY_S = 30
const EVENT_EVERY_S = 180
const TEXTED_SHARE = 0.1
const P99_LIMIT_MS = 100
// Picked at random, a session may go longer than three 30 s intervals without a beat: a longer
// interval on these rows keeps the sweeper from texting "went dark" about them during the run (its
// query still runs every 10 s, as in production).
const STALE_INTERVAL_MS = 3_600_000
// The load generator shares this process: when it sends its requests later than this (p99), it is
// the bottleneck, not the server.
const GENERATOR_LAG_LIMIT_MS = 50

interface Session {
  id: string
  token: string
  /** Its user has had its error text of this window: further errors are held (429). */
  texted: boolean
}

/** Creates `count` users, each with one live monitoring session, in one statement; their tokens are known. */
async function createSessions(sql: Sql, count: number): Promise<Session[]> {
  const run = Date.now().toString(36)
  const rows = await sql<{ id: string; token: string }[]>`
    with u as (
      insert into users (phone_e164, phone_hash, phone_masked)
      select '+1415' || lpad(i::text, 7, '0'), ${run} || '-' || i, '+1***' || lpad((i % 10000)::text, 4, '0') from generate_series(1, ${count}) i
      on conflict (phone_e164) do update set phone_masked = excluded.phone_masked
      returning id, phone_e164
    )
    insert into monitoring_sessions (user_id, claude_session_id, description, project, session_token_hash, heartbeat_interval_ms, started_at, last_heartbeat_at)
    select u.id, ${run} || u.phone_e164, 'Scale run', 'scale', encode(sha256(convert_to(${run} || u.phone_e164, 'UTF8')), 'hex'), ${STALE_INTERVAL_MS}, now(), now() from u
    returning id, claude_session_id as token`
  return rows.map((r) => ({ id: r.id, token: r.token, texted: false }))
}

function post(agent: http.Agent, base: URL, path: string, token: string, body: unknown): Promise<{ status: number; ms: number }> {
  const started = performance.now()
  const payload = JSON.stringify(body)
  return new Promise((resolve) => {
    const req = http.request(
      { agent, host: base.hostname, port: base.port, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), authorization: `Bearer ${token}` } },
      (res) => {
        res.resume()
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }))
      },
    )
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }))
    req.end(payload)
  })
}

/** Exponential gaps: a Poisson process of `perSecond` arrivals. */
const gapMs = (perSecond: number) => (-Math.log(1 - Math.random()) / perSecond) * 1000

interface StepResult {
  sessions: number
  heartbeats: number
  events: number
  texted: number
  failed: number
  p50: number
  p99: number
  /** How late the generator sent its requests, p99 (ms). */
  lag: number
  serverCores: number
  pgCores: number | undefined
}

async function runStep(opts: ScaleOptions, pool: Session[], n: number, agent: http.Agent): Promise<StepResult> {
  const base = new URL(opts.server.url)
  const sessions = pool.slice(0, n)
  const fresh = sessions.filter((s) => !s.texted)
  const used = sessions.filter((s) => s.texted)
  const hbRate = n / HEARTBEAT_EVERY_S
  const evRate = n / EVENT_EVERY_S
  const latencies: number[] = []
  const inFlight = new Set<Promise<unknown>>()
  let heartbeats = 0
  let events = 0
  let texted = 0
  let failed = 0
  const durationMs = opts.stepSeconds * 1000

  const pgPid = opts.pgDataDir ? Number(readFileSync(join(opts.pgDataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) : undefined
  const cpu0 = cpuSeconds(opts.server.pid)
  const pg0 = pgPid ? cpuSeconds(pgPid, true) : 0
  const t0 = performance.now()
  let nextHb = t0 + gapMs(hbRate)
  let nextEv = t0 + gapMs(evRate)
  const lags: number[] = []
  const track = (p: Promise<unknown>) => {
    inFlight.add(p)
    void p.finally(() => inFlight.delete(p))
  }
  for (;;) {
    const now = performance.now()
    if (now - t0 >= durationMs) break
    while (nextHb <= now) {
      lags.push(now - nextHb)
      nextHb += gapMs(hbRate)
      const s = sessions[Math.floor(Math.random() * sessions.length)]!
      heartbeats++
      track(
        post(agent, base, `/sessions/${s.id}/heartbeat`, s.token, { timestamp: new Date().toISOString(), last_activity: null }).then((r) => {
          latencies.push(r.ms)
          if (r.status !== 200) failed++
        }),
      )
    }
    while (nextEv <= now) {
      lags.push(now - nextEv)
      nextEv += gapMs(evRate)
      // A tenth are the first error of their user in this window (texted); the rest are held.
      const text = Math.random() < TEXTED_SHARE || used.length === 0
      const s = text ? fresh.pop() : used[Math.floor(Math.random() * used.length)]
      if (!s) continue
      if (text) {
        s.texted = true
        used.push(s)
        texted++
      }
      events++
      track(
        post(agent, base, `/sessions/${s.id}/events`, s.token, { event_type: 'error', timestamp: new Date().toISOString(), details: { tool_name: 'Bash', error: 'Exit code 1' } }).then((r) => {
          if (r.status !== 200 && r.status !== 429) failed++
        }),
      )
    }
    await new Promise((r) => setTimeout(r, 1))
  }
  const elapsed = (performance.now() - t0) / 1000
  await Promise.all(inFlight)
  const serverCores = (cpuSeconds(opts.server.pid) - cpu0) / elapsed
  const pgCores = pgPid ? (cpuSeconds(pgPid, true) - pg0) / elapsed : undefined
  const sorted = summarize(latencies)
  return { sessions: n, heartbeats, events, texted, failed, p50: sorted.p50, p99: sorted.p99, lag: summarize(lags).p99, serverCores, pgCores }
}

const holds = (r: StepResult) => r.p99 < P99_LIMIT_MS && r.lag <= GENERATOR_LAG_LIMIT_MS && r.failed === 0

export async function benchScale(opts: ScaleOptions): Promise<Row[]> {
  const started = Date.now()
  const max = Math.max(...opts.steps)
  opts.log(`  creating ${max} monitored sessions`)
  const pool = await createSessions(opts.sql, max)
  // Sessions keep their connections open (to the load balancer, which keeps its own to each process).
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const results: StepResult[] = []
  try {
    // Warm-up, not counted: connections opened, the server's code compiled.
    await runStep({ ...opts, stepSeconds: Math.min(2, opts.stepSeconds) }, pool, opts.steps[0]!, agent)
    for (const n of opts.steps) {
      if ((Date.now() - started) / 1000 + opts.stepSeconds > opts.budgetSeconds) break
      let r = await runStep(opts, pool, n, agent)
      // On a shared machine one burst of other work can spoil a step's p99: a failed step gets one more try.
      if (!holds(r) && (Date.now() - started) / 1000 + opts.stepSeconds <= opts.budgetSeconds) {
        opts.log(`  ${n} sessions: p99 ${round(r.p99)} ms, generator late by ${round(r.lag)} ms, ${r.failed} failed; trying this step once more`)
        r = await runStep(opts, pool, n, agent)
      }
      results.push(r)
      opts.log(
        `  ${n} sessions: ${r.heartbeats} heartbeats, ${r.events} events (${r.texted} texted), ${r.failed} failed; heartbeat p50 ${round(r.p50)} ms, p99 ${round(r.p99)} ms; server ${round(r.serverCores * 100)}% of a core${r.pgCores !== undefined ? `, PostgreSQL ${round(r.pgCores * 100)}%` : ''}; generator late by ${round(r.lag)} ms (p99)`,
      )
      if (!holds(r)) break
    }
  } finally {
    agent.destroy()
  }
  const held = results.filter(holds)
  const best = held.at(-1)
  const limitedBy = results.length === 0 ? 'no step ran' : results.at(-1) === best ? 'the largest step tried (budget)' : results.at(-1)!.lag > GENERATOR_LAG_LIMIT_MS ? 'the load generator (same process, late)' : results.at(-1)!.failed ? 'failed requests' : 'heartbeat p99'
  // CPU milliseconds per second of wall time (millicores) per 1,000 sessions.
  const per1000 = (r: StepResult, cores: number) => ((cores * 1000) / r.sessions) * 1000
  const rows: Row[] = []
  const one = (value: number) => summarize([value])
  rows.push({
    section: 'scale',
    metric: `sessions one server process holds with heartbeat p99 < ${P99_LIMIT_MS} ms`,
    unit: 'sessions',
    value: one(best?.sessions ?? 0),
    note: `next step stopped by: ${limitedBy}; ${results.map((r) => `${r.sessions}: p99 ${round(r.p99)} ms`).join(', ')}`,
  })
  if (best) {
    rows.push({ section: 'scale', metric: `heartbeat latency p99 at ${best.sessions} sessions`, unit: 'ms', value: one(round(best.p99)) })
    // CPU per 1,000 sessions, from the busiest step that held (the most requests per second: the least noise per request).
    rows.push({
      section: 'scale',
      metric: 'server CPU per 1,000 sessions (user+sys of its process)',
      unit: 'CPU ms/s',
      value: one(round(per1000(best, best.serverCores), 1)),
      note: `${round(best.serverCores * 100)}% of a core at ${best.sessions} sessions: ${round(best.heartbeats / opts.stepSeconds)} heartbeats/s, ${round(best.events / opts.stepSeconds)} events/s`,
    })
    if (best.pgCores !== undefined) rows.push({ section: 'scale', metric: 'PostgreSQL CPU per 1,000 sessions (all its processes)', unit: 'CPU ms/s', value: one(round(per1000(best, best.pgCores), 1)) })
  }
  return rows
}
