import { createHash } from 'node:crypto'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pluginDirs, startMcp, type McpProcess, type PluginDirs } from '../support/mcp-client.js'

/**
 * dist/mcp/main.js (mcp/launcher.ts) runs the server bundle with a V8 code cache in
 * $CLAUDE_PLUGIN_DATA/cache, written by a first start: every later start of the plugin skips most of
 * compiling the bundle (docs/performance.md). V8 itself refuses a cache that does not fit; the launcher
 * then writes a new one, and the server works the same either way.
 */
const running: McpProcess[] = []
afterEach(async () => {
  for (const p of running.splice(0)) await p.close()
})

/** One session of the plugin: start, Claude Code's tools/list, end. */
async function session(dirs: PluginDirs): Promise<string[]> {
  const p = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: 'https://sms.example.com' } })
  running.push(p)
  const { tools } = await p.client.listTools()
  running.splice(running.indexOf(p), 1)
  await p.close()
  return tools.map((t) => t.name).sort()
}

const TOOLS = ['sms_logout', 'sms_pair', 'sms_setup', 'sms_start', 'sms_status', 'sms_stop']
const cacheFiles = (dirs: PluginDirs) => readdirSync(join(dirs.pluginData, 'cache')).map((name) => join(dirs.pluginData, 'cache', name))

describe('the MCP server\'s code cache', () => {
  it('is written by a first start, 0600 in a 0700 directory of the plugin data, and used as it is by the next', async () => {
    const dirs = pluginDirs()
    expect(await session(dirs)).toEqual(TOOLS)
    const [file, ...others] = cacheFiles(dirs)
    expect(others).toEqual([])
    expect(file).toMatch(/server-[0-9a-f]{24}\.v8$/)
    expect(statSync(file!).mode & 0o777).toBe(0o600)
    expect(statSync(join(dirs.pluginData, 'cache')).mode & 0o777).toBe(0o700)
    const written = statSync(file!)
    expect(written.size).toBeGreaterThan(100_000)

    expect(await session(dirs)).toEqual(TOOLS)
    // Not written again: V8 took it (a refused cache is replaced).
    expect(cacheFiles(dirs)).toEqual([file])
    expect(statSync(file!)).toMatchObject({ ino: written.ino, mtimeMs: written.mtimeMs })
  })

  it('a damaged cache is refused and replaced, and the server answers as usual', async () => {
    const dirs = pluginDirs()
    await session(dirs)
    const [file] = cacheFiles(dirs)
    const good = readFileSync(file!)
    for (const damaged of [good.subarray(0, 1000), Buffer.from(good).fill(7, 64, 4096), Buffer.alloc(0)]) {
      writeFileSync(file!, damaged)
      expect(await session(dirs)).toEqual(TOOLS)
      const after = readFileSync(file!)
      expect(after.equals(damaged)).toBe(false)
      expect(after.length).toBeGreaterThan(100_000)
    }
  })

  it('is not written through a link put in place of its directory', async () => {
    const dirs = pluginDirs()
    const elsewhere = mkdtempSync(join(tmpdir(), 'cache-elsewhere-'))
    mkdirSync(dirs.pluginData, { recursive: true })
    symlinkSync(elsewhere, join(dirs.pluginData, 'cache'))
    expect(await session(dirs)).toEqual(TOOLS)
    expect(readdirSync(elsewhere)).toEqual([])
  })

  it('is code: one that others could have written or put there is never handed to V8', async () => {
    const dirs = pluginDirs()
    await session(dirs)
    const [file] = cacheFiles(dirs)
    const dir = join(dirs.pluginData, 'cache')
    // A cache that fits this bundle and Node, with a matching digest, but whose code is garbage: given to
    // V8 it would crash the server (or, crafted, run what its author wants).
    const good = readFileSync(file!)
    const evil = Buffer.from(good.subarray(32)).fill(7, 64, 4096)
    const planted = Buffer.concat([createHash('sha256').update(evil).digest(), evil])
    const plant = () => writeFileSync(file!, planted, { mode: 0o600 })

    plant()
    chmodSync(dir, 0o777) // anyone could have written it
    expect(await session(dirs)).toEqual(TOOLS)
    expect(readFileSync(file!).equals(planted)).toBe(true) // nor is a new one written there
    chmodSync(dir, 0o700)

    const other = join(mkdtempSync(join(tmpdir(), 'cache-link-')), 'evil.v8')
    writeFileSync(other, planted, { mode: 0o600 })
    rmSync(file!)
    symlinkSync(other, file!) // a link to it
    expect(await session(dirs)).toEqual(TOOLS)

    rmSync(file!)
    plant()
    chmodSync(file!, 0o666) // writable by anyone
    expect(await session(dirs)).toEqual(TOOLS)

    if (process.getuid?.() === 0) {
      plant()
      chmodSync(file!, 0o600)
      chownSync(file!, 65534, 65534) // another user's
      expect(await session(dirs)).toEqual(TOOLS)
    }
  })

  it('without a plugin data directory, the server runs with no cache', async () => {
    const dirs = pluginDirs()
    const p = await startMcp({ dirs, env: { CLAUDE_SMS_AUTH_URL: 'https://sms.example.com', CLAUDE_PLUGIN_DATA: undefined } })
    running.push(p)
    expect((await p.client.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOLS)
  })
})
