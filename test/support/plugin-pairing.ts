import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { maskPhone } from '../../server/phone.js'
import type { PluginDirs } from './mcp-client.js'

/**
 * What a finished pairing leaves on the computer (auth.json, as mcp/auth.ts writes it), so a test
 * with many plugin users needs no pairing text per user (pairing is tested in test/mcp/plugin.test.ts).
 */
export function writePairing(dirs: PluginDirs, serverUrl: string, accessToken: string, phone: string): void {
  const dir = join(dirs.config, 'claude-sms-notifier')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const now = new Date()
  const auth = { server_url: serverUrl, access_token: accessToken, expires_at: new Date(now.getTime() + 36 * 3_600_000).toISOString(), phone: maskPhone(phone), paired_at: now.toISOString() }
  writeFileSync(join(dir, 'auth.json'), JSON.stringify(auth), { mode: 0o600 })
}

/** How many entries wait in this plugin user's outbox. */
export function queuedInOutbox(dirs: PluginDirs): number {
  try {
    return readdirSync(join(dirs.config, 'claude-sms-notifier', 'outbox')).filter((n) => n.endsWith('.json')).length
  } catch {
    return 0
  }
}
