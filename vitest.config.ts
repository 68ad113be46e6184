import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // DB-backed files are isolated by database; two workers keep a 2-core machine busy without thrashing.
    maxWorkers: 2,
  },
})
