import { randomUUID } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { setTimeout as pause } from 'node:timers/promises'

/**
 * A monitored session driven the way the plugin's outbox drives it: each event has an event_id and is
 * sent again (same id) until the server acknowledges it, 200 or 429 (the 429 of the text rate limit
 * means "kept, counted in the next text"). 5xx, 409 and refused connections are retried with a short
 * backoff; any other answer is a test failure. Heartbeats go out between events.
 */
export interface LoadSession {
  id: string
  token: string
  phone: string
}

export interface Ack {
  eventId: string
  status: number
  smsSent: boolean
  /** The server's epoch (see LoadDriver.epoch) when the acknowledgement arrived. */
  epoch: number
}

export interface LoadDriver {
  /** Every acknowledged event, in the order the answers arrived. */
  acks: Ack[]
  /** Every event_id generated, acknowledged or not yet. */
  eventIds: string[]
  /** Answers other than 2xx/429 seen on events and heartbeats, by status (0: no connection). */
  failures: Map<number, number>
  /** Bodies of 5xx answers, to check their shape. */
  failureBodies: string[]
  /** Raised by the test around a restart or outage; recorded on every ack. */
  epoch: number
  /** Resolves once `count` acknowledgements have arrived in total. */
  acked(count: number): Promise<void>
  /** Resolves once a failure (5xx or no connection) has been seen. */
  failed(): Promise<void>
  /** Resolves when every session has sent and had acknowledged all its events. */
  done: Promise<void>
}

export function driveSessions(baseUrl: () => string, sessions: LoadSession[], opts: { eventsPerSession: number; eventType?: string }): LoadDriver {
  const emitter = new EventEmitter()
  emitter.setMaxListeners(100)
  const driver: LoadDriver = {
    acks: [],
    eventIds: [],
    failures: new Map(),
    failureBodies: [],
    epoch: 0,
    async acked(count) {
      while (driver.acks.length < count) await once(emitter, 'ack')
    },
    async failed() {
      if (driver.failures.size === 0) await once(emitter, 'failure')
    },
    done: Promise.resolve(),
  }

  async function post(path: string, token: string, body: unknown): Promise<{ status: number; text: string }> {
    try {
      const res = await fetch(baseUrl() + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      })
      return { status: res.status, text: await res.text() }
    } catch (e) {
      if ((e as Error).name === 'TimeoutError') throw new Error(`${path} did not answer within 20 s: a request hung`, { cause: e })
      return { status: 0, text: String((e as Error).cause ?? e) }
    }
  }

  function noteFailure(status: number, text: string) {
    driver.failures.set(status, (driver.failures.get(status) ?? 0) + 1)
    if (status >= 500) driver.failureBodies.push(text)
    emitter.emit('failure')
  }

  async function runSession(s: LoadSession) {
    for (let n = 0; n < opts.eventsPerSession; n++) {
      const eventId = randomUUID()
      driver.eventIds.push(eventId)
      const event = { event_type: opts.eventType ?? 'error', timestamp: new Date().toISOString(), event_id: eventId, details: { tool_name: 'Bash', error: `step ${n} failed` } }
      for (let attempt = 1; ; attempt++) {
        const r = await post(`/sessions/${s.id}/events`, s.token, event)
        if (r.status === 200 || r.status === 429) {
          const body = JSON.parse(r.text) as { sms_sent?: boolean }
          driver.acks.push({ eventId, status: r.status, smsSent: body.sms_sent === true, epoch: driver.epoch })
          emitter.emit('ack')
          break
        }
        if (r.status !== 0 && r.status !== 409 && r.status < 500) throw new Error(`event ${eventId} answered ${r.status}: ${r.text}`)
        noteFailure(r.status, r.text)
        // Backoff as the outbox does, short so the test moves on as soon as the server is back.
        await pause(Math.min(500, 20 * attempt))
      }
      const beat = await post(`/sessions/${s.id}/heartbeat`, s.token, { timestamp: new Date().toISOString(), last_activity: new Date().toISOString() })
      if (beat.status !== 200) {
        if (beat.status !== 0 && beat.status < 500) throw new Error(`heartbeat answered ${beat.status}: ${beat.text}`)
        noteFailure(beat.status, beat.text)
      }
    }
  }

  driver.done = Promise.all(sessions.map(runSession)).then(() => undefined)
  return driver
}
