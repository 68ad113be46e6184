// Bundles the plugin's MCP server into two dependency-free files, dist/mcp/server.cjs (the server) and
// dist/mcp/main.js (what .mcp.json starts: it runs the first with a V8 code cache), committed to the
// repository: Claude Code installs plugins by copying the repository and running
// `npm ci --ignore-scripts`, so nothing is built there (DESIGN §2). CI rebuilds it and fails when the
// committed file differs (`git diff --exit-code dist/mcp`), so the output must be deterministic.
import { build } from 'esbuild'
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

// zod re-exports every one of its ~50 locales as `z.locales`, a third of the bundle, parsed at every
// start; messages use English (zod loads locales/en.js itself), and nothing here reads z.locales. So
// the locale index is bundled with English only. `z.locales.<other>` would be undefined in the bundle.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js'\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }))
  },
}

// The MCP SDK imports at the top what only some inputs reach; esbuild evaluates (and V8 compiles) all of
// it at every start. Those imports become require() calls made on first use, so esbuild bundles the
// modules behind lazy wrappers. Each rewrite checks the SDK's text and fails the build when it changed.
// - Its Ajv validator, with ajv and ajv-formats (~130 KB of CommonJS): the SDK builds it on first use
//   (mcp/main.ts), which these tools never reach (JSON schemas are checked for elicitation only).
// - Zod 3 and zod-to-json-schema (~75 KB): used for tools whose schemas are Zod 3; these are Zod 4.
const sdkFile = (path) => new RegExp(`[\\\\/]@modelcontextprotocol[\\\\/]sdk[\\\\/]dist[\\\\/]esm[\\\\/]${path.replaceAll('/', '[\\\\/]').replaceAll('.', '\\.')}$`)
const firstUseRewrites = [
  {
    file: sdkFile('validation/ajv-provider.js'),
    edits: [
      ["import Ajv from 'ajv';\nimport _addFormats from 'ajv-formats';\n", ''],
      ['function createDefaultAjvInstance() {\n', "function createDefaultAjvInstance() {\n    const { default: Ajv } = require('ajv');\n    const { default: _addFormats } = require('ajv-formats');\n"],
    ],
  },
  {
    file: sdkFile('server/zod-compat.js'),
    edits: [["import * as z3rt from 'zod/v3';\n", "const z3rt = { object: (shape) => require('zod/v3').object(shape) };\n"]],
  },
  {
    file: sdkFile('server/zod-json-schema-compat.js'),
    edits: [["import { zodToJsonSchema } from 'zod-to-json-schema';\n", "const zodToJsonSchema = (...args) => require('zod-to-json-schema').zodToJsonSchema(...args);\n"]],
  },
]
const onFirstUse = {
  name: 'on-first-use',
  setup(b) {
    // The same ES modules as before, not the packages' CommonJS copies, behind esbuild's lazy wrapper.
    b.onResolve({ filter: /^(zod\/v3|zod-to-json-schema)$/ }, (args) =>
      args.kind === 'require-call' ? b.resolve(args.path, { kind: 'import-statement', importer: args.importer, resolveDir: args.resolveDir }) : undefined)
    for (const { file, edits } of firstUseRewrites) {
      b.onLoad({ filter: file }, (args) => {
        let source = readFileSync(args.path, 'utf8')
        for (const [from, to] of edits) {
          if (!source.includes(from)) throw new Error(`${args.path} no longer contains ${JSON.stringify(from)}: update scripts/bundle-mcp.mjs`)
          source = source.replace(from, to)
        }
        return { contents: source, resolveDir: dirname(args.path), loader: 'js' }
      })
    }
  },
}

// npm and bun lay out the same dependency tree differently: npm hoists ajv 8 (the MCP SDK's) to the top,
// bun keeps a copy under each dependent (@modelcontextprotocol/sdk and ajv-formats), which bundled ajv
// twice and made the bundle depend on the package manager. Every copy of one package at one version is
// the same code, so each name@version is read from one place, whichever copy is resolved first.
const onePerVersion = {
  name: 'one-copy-per-package-version',
  setup(b) {
    const chosenRoot = new Map() // name@version -> package directory
    const marker = `${sep}node_modules${sep}`
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData?.onePerVersion || args.path.startsWith('node:')) return undefined
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { onePerVersion: true } })
      if (resolved.errors.length > 0 || resolved.external || !resolved.path.includes(marker)) return resolved
      const at = resolved.path.lastIndexOf(marker) + marker.length
      const segments = resolved.path.slice(at).split(sep)
      const root = resolved.path.slice(0, at) + segments.slice(0, segments[0].startsWith('@') ? 2 : 1).join(sep)
      const { name, version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
      const key = `${name}@${version}`
      if (!chosenRoot.has(key)) chosenRoot.set(key, root)
      const chosen = chosenRoot.get(key)
      // Unchanged: let esbuild resolve it itself, which keeps what it knows of the module's format.
      return chosen === root ? undefined : { ...resolved, path: chosen + resolved.path.slice(root.length) }
    })
  },
}

// The server: CommonJS, which dist/mcp/main.js (mcp/launcher.ts) compiles with a V8 code cache (Node 20
// caches no ES module's compile). Its main() is called by the launcher.
await build({
  absWorkingDir: root,
  entryPoints: ['mcp/main.ts'],
  outfile: 'dist/mcp/server.cjs',
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  // Minified: it is parsed at the start of every Claude Code session (docs/performance.md).
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  plugins: [onePerVersion, zodEnglishOnly, onFirstUse],
  // import() of a bundled or built-in module becomes require(): no ES module loader at run time. Each
  // require() of a built-in stays inside the lazy initialiser of the module that imports it, so `open`
  // and its helpers load node:child_process only when a browser is opened.
  supported: { 'dynamic-import': false },
  // ES modules bundled here that locate files next to themselves (open's xdg-open) get this file's URL,
  // which the launcher passes in beside __filename.
  define: { 'import.meta.url': '__bundleUrl' },
})

// esbuild escapes non-ASCII characters in strings but leaves them in regular expressions (`open`
// quotes for PowerShell with /['‘’‚‛]/). One such character makes V8 hold the whole 570 KB text in two
// bytes a character; \uXXXX means the same in a regular expression, a string or a template.
const serverFile = join(root, 'dist/mcp/server.cjs')
writeFileSync(serverFile, readFileSync(serverFile, 'utf8').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))

await build({
  absWorkingDir: root,
  entryPoints: ['mcp/launcher.ts'],
  outfile: 'dist/mcp/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
})
