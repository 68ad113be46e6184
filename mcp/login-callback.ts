import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CONSOLE_MODE_CODE_HINT } from '../contract/api.js'
import { BRAND_HTML, BRAND_TEXT, FAVICON_DATA_URL, STANDALONE_PAGE_CSS } from '../contract/page-look.js'
import type { Logger } from './log.js'

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The loopback listener of the browser pairing flow: the server's /login page redirects the browser
 * to http://127.0.0.1:<port>/callback?temp_token=&phone=&state= (DESIGN §5). It takes exactly one
 * request carrying our state, ignores every other one (a page elsewhere cannot plant a token), and
 * closes after that success or after ttlMs.
 */
/** `sms: "console"`: the server texts nobody; the code is on its terminal and dashboard outbox. */
export interface CallbackResult {
  temp_token: string
  phone: string
  sms?: string
}

export interface LoginCallback {
  callbackUri: string
  /** The received temp token, once the browser came back. */
  result(): CallbackResult | undefined
  /** Resolves with the result, or undefined when the listener closed or timeoutMs passed first. */
  wait(timeoutMs: number): Promise<CallbackResult | undefined>
  /** False once it took its one callback or its time ran out. */
  isOpen(): boolean
  close(): void
}

/** The page the browser lands on, in the dashboard's look (contract/page-look.ts); it loads nothing. */
const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
  `<meta name="referrer" content="no-referrer"><title>${title} · ${BRAND_TEXT}</title><link rel="icon" href="${FAVICON_DATA_URL}">` +
  `<style>${STANDALONE_PAGE_CSS}</style></head><body>` +
  `<header class="top"><div class="top-inner"><span class="brand">${BRAND_HTML}</span></div></header>` +
  `<main><section class="card narrow"><h1>${title}</h1><p>${text}</p></section></main></body></html>`

export async function startLoginCallback(opts: { state: string; ttlMs: number; log: Logger }): Promise<LoginCallback> {
  let received: CallbackResult | undefined
  let closed = false
  const waiters = new Set<() => void>()
  const wake = () => {
    for (const w of waiters) w()
    waiters.clear()
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const state = url.searchParams.get('state')
    const tempToken = url.searchParams.get('temp_token')
    if (req.method !== 'GET' || url.pathname !== '/callback' || received || state !== opts.state || !tempToken) {
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8', connection: 'close' })
      res.end(page('Not this one', 'This pairing link is not the one Claude Code is waiting for. Run /sms-notifier:sms-setup again.'))
      return
    }
    received = { temp_token: tempToken, phone: url.searchParams.get('phone') ?? '', ...(url.searchParams.get('sms') === 'console' ? { sms: 'console' } : {}) }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', connection: 'close' })
    const where = received.sms === 'console' ? `${escapeHtml(CONSOLE_MODE_CODE_HINT)}` : 'A 6-digit code is on its way by text.'
    res.end(page('Check your phone', `${where} Back in Claude Code, run <code>/sms-notifier:sms-pair &lt;code&gt;</code>. You can close this tab.`))
    opts.log.info('pairing callback received')
    close()
  })

  function close() {
    if (closed) return
    closed = true
    clearTimeout(ttl)
    server.close()
    wake()
  }

  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const ttl = setTimeout(close, opts.ttlMs)
  ttl.unref()
  const { port } = server.address() as AddressInfo

  return {
    callbackUri: `http://127.0.0.1:${port}/callback`,
    result: () => received,
    isOpen: () => !closed,
    wait(timeoutMs) {
      if (received || closed) return Promise.resolve(received)
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          resolve(received)
        }
        const timer = setTimeout(done, timeoutMs)
        waiters.add(done)
      })
    },
    close,
  }
}
