import { codeTextedTo } from './pairing.js'
import { recordSecret } from './secrets.js'
import type { TwilioEndpoint } from './twilio-endpoint.js'

/** The hidden CSRF field of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html)
  if (!m) throw new Error(`no CSRF field on the page:\n${html.slice(0, 500)}`)
  return m[1]!
}

/**
 * A browser-like HTTP client for the dashboard: keeps cookies, never follows redirects (tests look at
 * them), sends forms as a browser does.
 */
export class DashboardClient {
  readonly cookies = new Map<string, string>()
  constructor(readonly baseUrl: string) {}

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.keep(await fetch(this.baseUrl + path, { redirect: 'manual', headers: { cookie: this.cookieHeader, ...headers }, signal: AbortSignal.timeout(10_000) }))
  }

  async post(path: string, form: Record<string, string>): Promise<Response> {
    return this.keep(
      await fetch(this.baseUrl + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        signal: AbortSignal.timeout(10_000),
      }),
    )
  }

  /** The whole sign-in: phone form, code texted to the Twilio endpoint, code form. */
  async signIn(phone: string, twilio: TwilioEndpoint): Promise<void> {
    const loginPage = await (await this.get('/dashboard/login')).text()
    const sent = twilio.messages.length
    const asked = await this.post('/dashboard/login', { csrf: csrfOf(loginPage), phone })
    if (asked.status !== 303) throw new Error(`asking for a code answered ${asked.status}: ${await asked.text()}`)
    await twilio.waitForMessages(sent + 1)
    const codePage = await (await this.get('/dashboard/login/code')).text()
    const signedIn = await this.post('/dashboard/login/code', { csrf: csrfOf(codePage), code: codeTextedTo(twilio, phone) })
    if (signedIn.status !== 303 || signedIn.headers.get('location') !== '/dashboard/sessions') throw new Error(`sign-in answered ${signedIn.status}: ${await signedIn.text()}`)
  }

  private keep(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair!.indexOf('=')
      const name = pair!.slice(0, eq).trim()
      const value = pair!.slice(eq + 1).trim()
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && new Date(a.split('=')[1]!).getTime() < Date.now())
      if (!value || expired) this.cookies.delete(name)
      else {
        this.cookies.set(name, value)
        recordSecret('token', decodeURIComponent(value))
      }
    }
    return res
  }
}

export interface LiveStream {
  status: number
  contentType: string | null
  /** Everything received so far (since the last `forget`). */
  readonly received: string
  /** Drops what was received so far: the next `readUntil` looks only at what comes after. */
  forget(): void
  /** Reads until the text received matches, or fails when the stream ends first or `timeoutMs` passes. */
  readUntil(pattern: RegExp, timeoutMs?: number): Promise<void>
  /** Resolves with everything received once the server has ended the stream (fails after `timeoutMs`). */
  ended(timeoutMs?: number): Promise<string>
  close(): void
}

/** GET /dashboard/live with this cookie, read as EventSource would. */
export async function openLiveStream(baseUrl: string, cookieHeader: string): Promise<LiveStream> {
  const controller = new AbortController()
  const res = await fetch(`${baseUrl}/dashboard/live`, { headers: { cookie: cookieHeader }, signal: controller.signal })
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let received = ''
  let done = false
  const readOnce = async (deadline: number): Promise<void> => {
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`no more from the live stream in time; got ${JSON.stringify(received)}`)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the live stream stayed silent; got ${JSON.stringify(received)}`)), left)))
    try {
      const chunk = await Promise.race([reader.read(), timeout])
      if (chunk.done) done = true
      else received += decoder.decode(chunk.value)
    } finally {
      clearTimeout(timer)
    }
  }
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    get received() {
      return received
    },
    forget() {
      received = ''
    },
    async readUntil(pattern, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs
      while (!pattern.test(received)) {
        if (done) throw new Error(`the live stream ended; got ${JSON.stringify(received)}`)
        await readOnce(deadline)
      }
    },
    async ended(timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs
      while (!done) await readOnce(deadline)
      return received
    },
    close: () => controller.abort(),
  }
}
