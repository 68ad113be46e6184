import autocannon from 'autocannon'
import type { Row } from '../report.js'
import { ratioRow } from '../report.js'
import { cpuSeconds } from '../processes.js'
import { summarize } from '../stats.js'

export interface LoadTarget {
  name: string
  url: string
  headers?: Record<string, string>
  /** A fresh JSON body per request (unique event ids and so on). */
  body: () => unknown
  /** The process that answers: its CPU time per request is reported too (less disturbed by other work than throughput). */
  pid?: number
  /** Target: throughput at least this share of the baseline's. */
  minRatio?: number
}

interface LoadResult {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
  /** Answers that were not 2xx, by status code ("409": 3): a failed request is a finding, not noise. */
  failedStatuses: Record<string, number>
  /** CPU (user + sys) of the answering process per request, ms. */
  cpuMs: number | undefined
  /** The same for the other processes measured (PostgreSQL, the bench process), by name. */
  otherCpuMs: Record<string, number>
}

/** Another process whose CPU per request is reported (all its children too when `withChildren`). */
export interface MeasuredProcess {
  name: string
  pid: number
  withChildren?: boolean
}

async function load(target: LoadTarget, opts: { seconds: number; connections: number; others: MeasuredProcess[] }): Promise<LoadResult> {
  const cpu0 = target.pid ? cpuSeconds(target.pid) : 0
  const others0 = opts.others.map((o) => cpuSeconds(o.pid, o.withChildren))
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    connections: opts.connections,
    duration: opts.seconds,
    headers: { 'content-type': 'application/json', ...target.headers },
    requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify(target.body()) }) }],
  })
  const failedStatuses: Record<string, number> = {}
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) if (!code.startsWith('2')) failedStatuses[code] = stat.count ?? 0
  const cpuMs = target.pid && result.requests.total ? ((cpuSeconds(target.pid) - cpu0) * 1000) / result.requests.total : undefined
  const otherCpuMs: Record<string, number> = {}
  if (result.requests.total) opts.others.forEach((o, i) => (otherCpuMs[o.name] = ((cpuSeconds(o.pid, o.withChildren) - others0[i]!) * 1000) / result.requests.total))
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, failedStatuses, cpuMs, otherCpuMs }
}

/**
 * Throughput and latency of each target under concurrent load, against a bare Express route measured
 * in the same run, interleaved (baseline, target, baseline, target...) so drift hits both alike.
 */
export async function benchServerLoad(opts: {
  baseline: LoadTarget
  targets: LoadTarget[]
  repeats: number
  seconds: number
  connections: number
  /**
   * Other processes whose CPU per request is reported for each target (PostgreSQL; the bench process,
   * which runs the load generator and the Twilio-compatible endpoint): what one request costs the
   * whole machine, not only the server.
   */
  alsoMeasure?: MeasuredProcess[]
  log: (m: string) => void
}): Promise<Row[]> {
  const runs = new Map<string, LoadResult[]>()
  const record = (name: string, r: LoadResult) => runs.set(name, [...(runs.get(name) ?? []), r])
  for (let i = 0; i < opts.repeats; i++) {
    for (const target of [opts.baseline, ...opts.targets]) {
      const r = await load(target, { ...opts, others: target === opts.baseline ? [] : (opts.alsoMeasure ?? []) })
      record(target.name, r)
      const others = Object.entries(r.otherCpuMs).map(([name, ms]) => `, ${name} ${ms.toFixed(3)} ms`).join('')
      opts.log(`  ${target.name} run ${i + 1}: ${Math.round(r.rps)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms${r.cpuMs !== undefined ? `, ${r.cpuMs.toFixed(3)} ms CPU a request${others}` : ''}${r.non2xx || r.errors ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.failedStatuses)}, ${r.errors} errors` : ''}`)
    }
  }
  const base = runs.get(opts.baseline.name)!
  const baseRps = summarize(base.map((r) => r.rps))
  const rows: Row[] = []
  for (const target of opts.targets) {
    const results = runs.get(target.name)!
    const rps = summarize(results.map((r) => r.rps))
    const failures = results.reduce((n, r) => n + r.non2xx + r.errors, 0)
    const row = ratioRow({ section: 'server', metric: `${target.name} throughput (${opts.connections} connections)`, unit: 'req/s', value: rps, baseline: { name: 'bare Express', value: baseRps } })
    const minRatio = target.minRatio ?? 0.3
    rows.push({ ...row, target: `>= ${minRatio}x bare Express`, met: (row.ratio ?? 0) >= minRatio, note: failures ? `${failures} non-2xx or failed requests` : undefined })
    rows.push({ section: 'server', metric: `${target.name} latency p50`, unit: 'ms', value: summarize(results.map((r) => r.p50)), baseline: { name: 'bare Express', value: summarize(base.map((r) => r.p50)) } })
    rows.push({ section: 'server', metric: `${target.name} latency p99`, unit: 'ms', value: summarize(results.map((r) => r.p99)), baseline: { name: 'bare Express', value: summarize(base.map((r) => r.p99)) } })
    const cpu = results.map((r) => r.cpuMs).filter((x) => x !== undefined)
    const baseCpu = base.map((r) => r.cpuMs).filter((x) => x !== undefined)
    if (cpu.length && baseCpu.length) {
      rows.push(ratioRow({ section: 'server', metric: `${target.name} server CPU per request`, unit: 'ms', value: summarize(cpu), baseline: { name: 'bare Express', value: summarize(baseCpu) } }))
    }
    for (const other of opts.alsoMeasure ?? []) {
      const values = results.map((r) => r.otherCpuMs[other.name]).filter((x) => x !== undefined)
      if (values.length) rows.push({ section: 'server', metric: `${target.name} ${other.name} CPU per request`, unit: 'ms', value: summarize(values) })
    }
  }
  return rows
}
