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
