/**
 * Whether a request was sent by a page of another site, as the browser reports it: Fetch Metadata's
 * `Sec-Fetch-Site` (cross-site or same-site), or an `Origin` that is not one of the server's own.
 * Requests with neither header (curl, the plugin's remote mode) are not cross-site: a browser always
 * sends Origin with a POST, and a page cannot forge either header.
 */
export function crossSiteRequest(headers: { origin?: string | undefined; secFetchSite?: string | undefined }, ownOrigins: ReadonlySet<string>): boolean {
  if (headers.secFetchSite === 'cross-site' || headers.secFetchSite === 'same-site') return true
  return headers.origin !== undefined && !ownOrigins.has(headers.origin)
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]']

/**
 * The origins the server's own pages are served from: PUBLIC_URL's. When that is a loopback address
 * (a server on the developer's own computer), the other loopback names of the same port count too,
 * since the browser may have been pointed at http://localhost:8787 as well as http://127.0.0.1:8787.
 */
export function ownOrigins(publicUrl: string): ReadonlySet<string> {
  const url = new URL(publicUrl)
  const origins = new Set([url.origin])
  if (LOOPBACK_NAMES.includes(url.hostname)) {
    for (const name of LOOPBACK_NAMES) origins.add(new URL(`${url.protocol}//${name}${url.port ? `:${url.port}` : ''}`).origin)
  }
  return origins
}
