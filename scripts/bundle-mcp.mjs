// Bundles the plugin's MCP server into one dependency-free file, dist/mcp/main.js, committed to the
// repository: Claude Code installs plugins by copying the repository and running
// `npm ci --ignore-scripts`, so nothing is built there (DESIGN §2). CI rebuilds it and fails when the
// committed file differs (`git diff --exit-code dist/mcp`), so the output must be deterministic.
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

await build({
  absWorkingDir: root,
  entryPoints: ['mcp/main.ts'],
  outfile: 'dist/mcp/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
  // Some bundled CommonJS dependencies call require() for Node built-ins; ESM has no require.
  banner: { js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);" },
})
