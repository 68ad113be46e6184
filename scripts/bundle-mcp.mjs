// Bundles the plugin's MCP server into one dependency-free file, dist/mcp/main.js, committed to the
// repository: Claude Code installs plugins by copying the repository and running
// `npm ci --ignore-scripts`, so nothing is built there (DESIGN §2). CI rebuilds it and fails when the
// committed file differs (`git diff --exit-code dist/mcp`), so the output must be deterministic.
import { build } from 'esbuild'
import { dirname } from 'node:path'
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

await build({
  absWorkingDir: root,
  entryPoints: ['mcp/main.ts'],
  outfile: 'dist/mcp/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  // Minified: it is parsed at the start of every Claude Code session (docs/performance.md).
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  plugins: [zodEnglishOnly],
  // Some bundled CommonJS dependencies call require() for Node built-ins; ESM has no require.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
})
