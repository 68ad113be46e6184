import { spawn } from 'node:child_process'
import { once } from 'node:events'

/**
 * Runs `vitest run --config <config>` as a separate process, as `npm test` would, and returns its exit
 * code and output. The variables that make vitest think it is inside a worker are removed; `env`
 * changes the rest (undefined removes a variable).
 */
export async function runNestedVitest(config: string, env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' }
  for (const name of ['VITEST', 'VITEST_POOL_ID', 'VITEST_WORKER_ID']) delete childEnv[name]
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[name]
    else childEnv[name] = value
  }
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', config], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, output }
}
