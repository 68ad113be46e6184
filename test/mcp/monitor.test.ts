import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createApi } from '../../mcp/api.js'
import { createMcpLogger } from '../../mcp/log.js'
import { createMonitor } from '../../mcp/monitor.js'
import { createOutbox, defaultRetryPolicy } from '../../mcp/outbox.js'
import { sessionFilePath, storePaths } from '../../mcp/store.js'
import { manualTime } from '../support/manual-time.js'

// Nothing listens on the discard port: every send fails, so what the monitor queued stays visible.
const OFFLINE = 'http://127.0.0.1:9'

function setup() {
  const time = manualTime()
  const paths = storePaths(mkdtempSync(join(tmpdir(), 'monitor-')))
  const log = createMcpLogger('silent')
  const api = createApi({ timeoutMs: 500 })
  const outbox = createOutbox({ dir: paths.outboxDir, api, log, now: time.now, retry: defaultRetryPolicy(60_000), timers: time.timers })
  const monitor = createMonitor({
    paths,
    api,
    outbox,
    log,
    claudeSessionId: 'claude-1',
    heartbeatIntervalMs: 30_000,
    thresholds: { inactivityMs: 600_000, doneMs: 300_000 },
    now: time.now,
    timers: time.timers,
  })
  const begin = () =>
    monitor.begin({ claude_session_id: 'claude-1', monitoring_id: 'mon_1', session_token: 'tok', server_url: OFFLINE, description: 'fix the build', project: 'app', hostname: 'laptop', started_at: time.now().toISOString() })
  const queued = async () => (await outbox.pending()).map((e) => e.event_type ?? e.kind)
  const advance = (ms: number) => time.advance(ms, () => monitor.idle())
  return { time, paths, outbox, monitor, begin, queued, advance }
}

describe('the monitor', () => {
  it('sends nothing at all while the session is not monitored', async () => {
    const { monitor, queued, advance } = setup()
    await monitor.handleHook({ hook_event_name: 'PostToolUseFailure', tool_name: 'Bash', error: 'boom' })
    await monitor.handleHook({ hook_event_name: 'Stop' })
    await advance(3_600_000)
    expect(await queued()).toEqual([])
  })

  it('queues a waiting text when nobody answers Claude for the threshold, and only then', async () => {
    const { monitor, begin, queued, advance, outbox } = setup()
    await begin()
    await monitor.handleHook({ hook_event_name: 'UserPromptSubmit' })
    await monitor.handleHook({ hook_event_name: 'Stop', last_assistant_message: 'Shall I deploy?' })
    await advance(599_000)
    expect(await queued()).toEqual([])
    await advance(1_000)
    expect(await queued()).toEqual(['waiting'])
    const [entry] = await outbox.pending()
    expect(entry).toMatchObject({ monitoring_id: 'mon_1', session_token: 'tok', body: { event_type: 'waiting', details: { message: 'Shall I deploy?' } } })
    expect(entry?.body.event_id).toBe(entry?.id)
    // One text per wait.
    await advance(3_600_000)
    expect(await queued()).toEqual(['waiting'])
  })

  it('drops the queued waiting text when the person answers before it went out', async () => {
    const { monitor, begin, queued, advance } = setup()
    await begin()
    await monitor.handleHook({ hook_event_name: 'Notification', message: 'Claude needs your permission', notification_type: 'permission_prompt' })
    await advance(600_000)
    expect(await queued()).toEqual(['waiting'])
    await monitor.handleHook({ hook_event_name: 'UserPromptSubmit' })
    expect(await queued()).toEqual([])
  })

  it('a prompt before the threshold cancels the clock: no waiting text ever', async () => {
    const { monitor, begin, queued, advance } = setup()
    await begin()
    await monitor.handleHook({ hook_event_name: 'Stop' })
    await advance(300_000)
    await monitor.handleHook({ hook_event_name: 'UserPromptSubmit' })
    await advance(3_600_000)
    expect(await queued()).toEqual([])
  })

  it('session end queues the done event and the stop, in that order, and forgets the session', async () => {
    const { monitor, begin, queued, paths } = setup()
    await begin()
    expect(existsSync(sessionFilePath(paths, 'claude-1'))).toBe(true)
    await monitor.handleHook({ hook_event_name: 'SessionEnd', reason: 'prompt_input_exit' })
    expect(await queued()).toEqual(['done', 'stop'])
    expect(monitor.current()).toBeUndefined()
    expect(existsSync(sessionFilePath(paths, 'claude-1'))).toBe(false)
  })

  it('a new process for the same Claude session resumes monitoring, its waiting clock included', async () => {
    const first = setup()
    await first.begin()
    await first.monitor.handleHook({ hook_event_name: 'Stop', last_assistant_message: 'Which database?' })
    first.monitor.pause() // the process dies here
    const saved = JSON.parse(readFileSync(sessionFilePath(first.paths, 'claude-1'), 'utf8'))
    expect(saved.clock.waiting.text).toBe('Which database?')

    const second = setup()
    const { writeJsonAtomic } = await import('../../mcp/store.js')
    await writeJsonAtomic(sessionFilePath(second.paths, 'claude-1'), saved)
    const resumed = await second.monitor.resume()
    expect(resumed?.description).toBe('fix the build')
    expect(second.monitor.takeNotices()).toEqual([expect.stringContaining('Resumed monitoring of "fix the build"')])
    await second.advance(600_000)
    expect(await second.queued()).toEqual(['waiting'])
  })

  it('after `claude --resume` spawned it with a stale session id, the hooks\' session id finds the monitoring', async () => {
    const first = setup()
    await first.begin()
    first.monitor.pause()
    const saved = readFileSync(sessionFilePath(first.paths, 'claude-1'), 'utf8')

    const time = manualTime()
    const log = createMcpLogger('silent')
    const api = createApi({ timeoutMs: 500 })
    const { writeJsonAtomic } = await import('../../mcp/store.js')
    const paths = storePaths(mkdtempSync(join(tmpdir(), 'monitor-')))
    await writeJsonAtomic(sessionFilePath(paths, 'claude-1'), JSON.parse(saved))
    const outbox = createOutbox({ dir: paths.outboxDir, api, log, now: time.now, retry: defaultRetryPolicy(60_000), timers: time.timers })
    const monitor = createMonitor({ paths, api, outbox, log, claudeSessionId: 'startup-id', heartbeatIntervalMs: 30_000, thresholds: { inactivityMs: 600_000, doneMs: 300_000 }, now: time.now, timers: time.timers })
    expect(await monitor.resume()).toBeUndefined()
    await monitor.handleHook({ hook_event_name: 'PostToolUseFailure', session_id: 'claude-1', tool_name: 'Bash', error: 'boom' })
    expect(monitor.current()?.description).toBe('fix the build')
    expect((await outbox.pending()).map((e) => e.event_type)).toEqual(['error'])
    // A session nobody monitored stays unmonitored.
    const other = setup()
    await other.monitor.handleHook({ hook_event_name: 'Stop', session_id: 'never-started' })
    expect(other.monitor.current()).toBeUndefined()
  })
})
