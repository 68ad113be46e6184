import ipaddr from 'ipaddr.js'

/**
 * Which proxies may tell the server the client's address (X-Forwarded-For), in the shape Express's
 * `trust proxy` setting takes: false (believe none: the address is the TCP peer's), a hop count, or
 * a list of addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`.
 */
export type TrustProxy = false | number | string[]

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal'])

/** Reads TRUST_PROXY; the message of a bad value completes "TRUST_PROXY ..." in one line. */
export function parseTrustProxy(value: string | undefined): { ok: true; value: TrustProxy } | { ok: false; message: string } {
  const v = value?.trim().toLowerCase()
  if (!v || v === 'false' || v === 'off' || v === 'none') return { ok: true, value: false }
  if (v === 'true' || v === '*') {
    return { ok: false, message: 'must name the proxy in front of the server (loopback, its address or CIDR range, or a hop count such as 1): "true" would believe the X-Forwarded-For of any client' }
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v)
    if (hops > 10) return { ok: false, message: 'must be a hop count from 0 to 10, the names loopback/linklocal/uniquelocal, or addresses and CIDR ranges separated by commas' }
    return { ok: true, value: hops === 0 ? false : hops }
  }
  const entries = v.split(',').map((e) => e.trim()).filter(Boolean)
  for (const entry of entries) {
    if (!NAMED_RANGES.has(entry) && !validAddressOrRange(entry)) {
      return { ok: false, message: `has "${entry}", which is neither an IP address, a CIDR range (e.g. 10.0.0.0/8), loopback, linklocal, uniquelocal, nor a hop count` }
    }
  }
  return { ok: true, value: entries }
}

function validAddressOrRange(entry: string): boolean {
  if (!entry.includes('/')) return ipaddr.isValid(entry)
  try {
    ipaddr.parseCIDR(entry)
    return true
  } catch {
    return false
  }
}

/**
 * The key under which a client address is counted by the per-address limits. An IPv6 client usually
 * holds a whole /64 (RFC 6177; SLAAC and privacy addresses rotate within it), so it is counted by its
 * /64; an IPv4-mapped IPv6 address (::ffff:192.0.2.7, what a dual-stack socket reports) is its IPv4.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown'
  let address: ipaddr.IPv4 | ipaddr.IPv6
  try {
    address = ipaddr.parse(ip)
  } catch {
    return ip
  }
  if (address.kind() === 'ipv4') return address.toString()
  const v6 = address as ipaddr.IPv6
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString()
  return `${new ipaddr.IPv6([...v6.parts.slice(0, 4), 0, 0, 0, 0]).toString()}/64`
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/**
 * True when the server listens on loopback while its public address is elsewhere (so a proxy on this
 * computer forwards to it) and TRUST_PROXY is off: every client is then counted as the proxy's one
 * address by the per-address limits, and start-up says to set TRUST_PROXY.
 */
export function proxyNotTrusted(config: { host: string; publicUrl: string; trustProxy: TrustProxy }): boolean {
  if (config.trustProxy !== false || !LOOPBACK_HOSTS.has(config.host)) return false
  return !LOOPBACK_HOSTS.has(new URL(config.publicUrl).hostname)
}
