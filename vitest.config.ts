import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // DB-backed files are isolated by database; two workers keep a 2-core machine busy without thrashing.
    maxWorkers: 2,
    // `npm run test:coverage`: what the suite runs in its own process. Servers and MCP servers the tests
    // start as child processes (from build/ and dist/) are not measured.
    coverage: {
      provider: 'v8',
      include: ['server/**/*.ts', 'mcp/**/*.ts', 'contract/**/*.ts', 'hooks/**/*.js'],
      reporter: ['text', 'text-summary', 'html'],
      reportsDirectory: 'test-output/coverage',
    },
  },
})
