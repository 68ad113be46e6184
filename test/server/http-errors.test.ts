import { Router } from 'express'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../server/app.js'
import { systemClock } from '../../server/clock.js'
import { createSql } from '../../server/db/connect.js'
import { createSmsSender } from '../../server/sms/sender.js'
import { createConsoleTransport } from '../../server/sms/console.js'
import { useTestDatabase } from '../support/db.js'
import { captureLog } from '../support/log.js'
import { testConfig } from '../support/server.js'
import { listenOnLoopback, type Listening } from '../support/listen.js'
import type { Sql } from 'postgres'

const db = useTestDatabase()
const logs = captureLog('http-errors')

function appWith(sql: Sql) {
  const bug = Router()
  bug.get('/test/bug', () => {
    throw new TypeError("Cannot read properties of undefined (reading 'id') at /srv/app/server/routes/x.ts:12")
  })
  // A statement that fails on data from the request, as a constraint or a type check would.
  bug.post('/test/db-bug', async (req) => {
    const note = String((req.body as { note?: unknown }).note)
    await sql`select ${note}::uuid as id, ${sql.json({ note })}::jsonb -> 'x' -> (${note})::int as n`
  })
  const config = testConfig()
  return createApp({ config, sql, clock: systemClock, log: logs.log, sms: createSmsSender({ sql, transport: createConsoleTransport(logs.log), log: logs.log, pepper: 'p' }), extraRoutes: [bug] })
}

let server: Listening
beforeAll(async () => {
  server = await listenOnLoopback(appWith(db.sql))
})
afterAll(() => server?.close())

async function expectErrorBody(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  const body = (await res.json()) as Record<string, unknown>
  expect(body).toEqual({ error: code, message: expect.any(String), details: expect.any(Object), request_id: expect.stringMatching(/^req_/) })
  expect(res.headers.get('x-request-id')).toBe(body.request_id)
  expect(JSON.stringify(body)).not.toMatch(/\bat \/|node_modules|\.ts:\d+/)
  return body
}

describe('every API error has the JSON shape of the contract', () => {
  it('answers malformed JSON with 400 invalid_request', async () => {
    const res = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"temp_token": ' })
    const body = await expectErrorBody(res, 400, 'invalid_request')
    expect(body.message).toMatch(/not valid JSON/)
  })

  it('answers a body over 64 KB with 413', async () => {
    const res = await fetch(`${server.url}/auth/exchange`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(70_000) }) })
    await expectErrorBody(res, 413, 'payload_too_large')
  })

  it('answers an unknown route with 404 JSON, not an HTML page', async () => {
    await expectErrorBody(await fetch(`${server.url}/no/such/thing`), 404, 'not_found')
  })

  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await fetch(`${server.url}/healthz`, { method: 'DELETE' })
    await expectErrorBody(res, 405, 'method_not_allowed')
    expect(res.headers.get('allow')).toBe('GET, HEAD')
  })

  it('answers a thrown bug with 500 server_error and no stack trace, and logs the stack', async () => {
    const body = await expectErrorBody(await fetch(`${server.url}/test/bug`), 500, 'server_error')
    expect(body.message).not.toMatch(/Cannot read/)
    const logged = logs.entries().find((e) => e.msg === 'unhandled error' && e.request_id === body.request_id)
    expect(JSON.stringify(logged)).toMatch(/Cannot read properties/)
  })

  it('logs a database error by its code, without any of the request data PostgreSQL quotes back', async () => {
    const note = 'plans-for-the-weekend-4d1e'
    const res = await fetch(`${server.url}/test/db-bug`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note }) })
    const body = await expectErrorBody(res, 500, 'server_error')
    const logged = logs.entries().find((e) => e.msg === 'unhandled error' && e.request_id === body.request_id)
    expect(logged).toMatchObject({ err: { name: 'PostgresError', code: '22P02', message: expect.stringMatching(/^invalid input syntax for type uuid/) } })
    expect(JSON.stringify(logged)).not.toContain('plans-for-the-weekend')
  })
})

describe('GET /healthz', () => {
  it('is 200 when the database answers', async () => {
    const res = await fetch(`${server.url}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok', database: 'ok' })
  })

  it('is 503 with the error shape when the database does not answer', async () => {
    const { freePort } = await import('../../server/db/embedded.js')
    const deadSql = createSql(`postgres://postgres@127.0.0.1:${await freePort()}/nothing`, { max: 1 })
    const down = await listenOnLoopback(appWith(deadSql))
    try {
      const res = await fetch(`${down.url}/healthz`)
      const body = await expectErrorBody(res, 503, 'service_unavailable')
      expect(body.details).toMatchObject({ database: 'unreachable' })
    } finally {
      await down.close()
      await deadSql.end({ timeout: 0 })
    }
  })
})
