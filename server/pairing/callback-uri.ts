/**
 * The login page only ever sends the browser back to the plugin on the same machine: a loopback
 * redirect in the sense of RFC 8252 §7.3 (http, 127.0.0.1, [::1] or localhost, any port). Anything else
 * would hand the temp token to whoever wrote the link, so it is refused, never redirected to.
 */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost'])

export function loopbackCallback(raw: string): URL | undefined {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return undefined
  }
  if (url.protocol !== 'http:') return undefined
  // WHATWG URL keeps the brackets of an IPv6 host: http://[::1]:5000/ has hostname "[::1]".
  if (!LOOPBACK_HOSTS.has(url.hostname)) return undefined
  // Userinfo has no place in a redirect URI and is a classic way to disguise the real host.
  if (url.username || url.password) return undefined
  // RFC 6749 §3.1.2: a redirection URI must not include a fragment.
  if (url.hash || raw.includes('#')) return undefined
  return url
}

/**
 * callback_uri?temp_token=...&phone=<masked>&state=..., keeping any query the plugin put there; with
 * sms=console when nothing is really texted, so the plugin's page can say where the code is.
 */
export function callbackRedirect(callback: URL, params: { tempToken: string; phoneMasked: string; state: string; consoleMode?: boolean }): string {
  const target = new URL(callback.href)
  target.searchParams.set('temp_token', params.tempToken)
  target.searchParams.set('phone', params.phoneMasked)
  target.searchParams.set('state', params.state)
  if (params.consoleMode) target.searchParams.set('sms', 'console')
  return target.href
}
