#!/usr/bin/env node
import { createHash } from 'node:crypto'
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Script, constants as vmConstants } from 'node:vm'

/**
 * What .mcp.json starts (dist/mcp/main.js): it runs the MCP server's bundle (dist/mcp/server.cjs) the
 * way Node runs a CommonJS module, but compiled with a V8 code cache kept in
 * $CLAUDE_PLUGIN_DATA/cache. Compiling the 570 KB bundle, and the functions a start runs, is a good
 * part of the time before Claude Code gets its tools (docs/performance.md): from the second start on
 * V8 takes them from the cache. The cache is named by a hash of the bundle, the Node version and the V8
 * flags, so a changed plugin or Node never meets an old one; V8 refuses a cache it cannot use (and this
 * then writes a new one). A missing, unreadable or refused cache only costs the compile.
 */

/**
 * The cache is written this long after the start (long enough for Claude Code's initialize and
 * tools/list: it then holds the functions they ran), or when the process exits before that.
 */
const WRITE_CACHE_AFTER_MS = 1_000
/** Caches of other bundles, Node versions or flags are kept this long after they were written. */
const KEEP_OTHER_CACHES_MS = 24 * 60 * 60_000
const WRAP_START = Buffer.from('(function (exports, require, module, __filename, __dirname, __bundleUrl) {')
const WRAP_END = Buffer.from('\n})')
const DIGEST_BYTES = 32
const digest = (data: Buffer) => createHash('sha256').update(data).digest()

const file = fileURLToPath(new URL('./server.cjs', import.meta.url))
const cacheDir = process.env.CLAUDE_PLUGIN_DATA ? join(process.env.CLAUDE_PLUGIN_DATA, 'cache') : undefined
const { script, cacheFile } = compile()

/** The bundle compiled as Node compiles a CommonJS module, with the cache if there is a sound one. */
function compile(): { script: Script; cacheFile: string | undefined } {
  const source = readFileSync(file)
  const key = createHash('sha256').update(source).update(`\0${process.version}\0${process.arch}\0${process.execArgv.join(' ')}`).digest('hex').slice(0, 24)
  const cacheFile = cacheDir && join(cacheDir, `server-${key}.v8`)
  // Wrapped as bytes, then decoded once: V8 compiles a flat string. A string made by joining strings
  // (`${a}${source}${b}`) cost about 6 MB more resident memory to compile; the bundle is ASCII, so
  // the text takes one byte a character.
  const wrapped = Buffer.concat([WRAP_START, source, WRAP_END]).toString('utf8')
  const script = new Script(wrapped, {
    filename: file,
    cachedData: readCache(cacheFile),
    importModuleDynamically: vmConstants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  return { script, cacheFile }
}

const module = { exports: {} as { main: () => Promise<void> } }
;(script.runInThisContext() as (...args: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file), pathToFileURL(file).href)
await module.exports.main()

let written = false
// cachedDataRejected: false when V8 used the cache, true when it refused it, undefined when there was none.
if (cacheDir && cacheFile && script.cachedDataRejected !== false) {
  const write = () => writeCache(cacheDir, cacheFile)
  const timer = setTimeout(write, WRITE_CACHE_AFTER_MS).unref()
  process.once('exit', () => (clearTimeout(timer), write()))
}

/**
 * The cache file is the SHA-256 of V8's cache data, then the data. V8 checks that a cache fits its
 * version, flags and source, but not (in release builds) that its contents are intact, and damaged
 * contents can crash it: only data whose digest matches is handed over. A cache is code: it is read
 * only from a directory of this user that nobody else can enter, and only if it is a regular file of
 * this user that nobody else can write (not a link).
 */
function readCache(path: string | undefined): Buffer | undefined {
  let file: Buffer
  let fd: number | undefined
  try {
    if (!path || !isPrivateDir(dirname(path))) return undefined
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
    const stat = fstatSync(fd)
    if (!stat.isFile() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined
    file = readFileSync(fd)
  } catch {
    return undefined // none yet
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
  const data = file.subarray(DIGEST_BYTES)
  return file.length > DIGEST_BYTES && digest(data).equals(file.subarray(0, DIGEST_BYTES)) ? data : undefined
}

/** A real directory (not a link) of this user, with no access for anyone else. */
function isPrivateDir(dir: string): boolean {
  const stat = lstatSync(dir)
  return stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0
}

/**
 * Writes the cache 0600 and atomically in a 0700 directory of this user, and removes the caches (and
 * leftover temporary files) not written for a day: those of earlier versions of the plugin or of Node.
 */
function writeCache(dir: string, path: string): void {
  if (written) return
  written = true
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    if (!isPrivateDir(dir)) return
    const temp = `${path}.${process.pid}.tmp`
    const data = script.createCachedData()
    writeFileSync(temp, Buffer.concat([digest(data), data]), { mode: 0o600, flag: 'wx' })
    renameSync(temp, path)
    for (const name of readdirSync(dir)) {
      const other = join(dir, name)
      if (other !== path && lstatSync(other).mtimeMs < Date.now() - KEEP_OTHER_CACHES_MS) rmSync(other, { force: true })
    }
  } catch {
    // Next time, then: the server runs the same without it.
  }
}
