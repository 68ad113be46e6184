import { recordSecret } from './secrets.js'
import type { TwilioEndpoint } from './twilio-endpoint.js'

/** The 6-digit code in the newest pairing text to `to`, as the person would read it on their phone. */
export function codeTextedTo(twilio: TwilioEndpoint, to: string): string {
  const text = twilio.lastTo(to)
  const code = text && /\b(\d{6})\b/.exec(text.body)?.[1]
  if (!code) throw new Error(`no pairing code was texted to ${to}; texts: ${JSON.stringify(twilio.messages.map((m) => m.body))}`)
  recordSecret('code', code)
  return code
}

/**
 * A code the console transport printed on the server's terminal (a server without Twilio) for this
 * number: the last line to it that `what` matches, its first group.
 */
export function codeOnConsole(consoleTexts: string[], phone: string, what = /code is (\d{6})/): string {
  const line = [...consoleTexts].reverse().find((l) => l.includes(`+1***${phone.slice(-4)}`) && what.test(l))
  if (!line) throw new Error(`no console text to ${phone.slice(-4)}: ${consoleTexts.length} lines`)
  return what.exec(line)![1]!
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  })
}

/**
 * Pairs `phone` the way the plugin does over SSH (remote mode): POST /login, read the texted code,
 * POST /auth/exchange. Returns the access token and both answers.
 */
export async function pairRemotely(baseUrl: string, twilio: TwilioEndpoint, phone: string, headers: Record<string, string> = {}) {
  const login = await postJson(`${baseUrl}/login`, { phone, state: 'state-1234567', mode: 'remote' }, headers)
  if (login.status !== 200) throw new Error(`POST /login answered ${login.status}: ${await login.text()}`)
  const started = (await login.json()) as { temp_token: string; phone: string; expires_in: number }
  recordSecret('token', started.temp_token)
  const code = codeTextedTo(twilio, phone)
  const exchange = await postJson(`${baseUrl}/auth/exchange`, { temp_token: started.temp_token, pairing_code: code }, headers)
  if (exchange.status !== 200) throw new Error(`POST /auth/exchange answered ${exchange.status}: ${await exchange.text()}`)
  const paired = (await exchange.json()) as { access_token: string; expires_at: string; phone: string }
  recordSecret('token', paired.access_token)
  return { accessToken: paired.access_token, started, paired, code, exchangeHeaders: exchange.headers, loginHeaders: login.headers }
}
