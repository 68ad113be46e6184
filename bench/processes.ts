import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

export interface Child {
  proc: ChildProcess
  url: string
  stop(): Promise<void>
}

/** Starts a node script (with `nodeArgs` for node itself) that prints a JSON line with a `url` once it listens; resolves with that url. */
export async function startChild(script: string, args: string[], env: NodeJS.ProcessEnv, urlFrom: (line: string) => string | undefined, timeoutMs = 60_000, nodeArgs: string[] = []): Promise<Child> {
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${output.join('\n')}`)), timeoutMs)
    const onLine = (line: string) => {
      output.push(line)
      if (output.length > 200) output.shift()
      const found = urlFrom(line)
      if (found) {
        clearTimeout(timer)
        resolve(found)
      }
    }
    createInterface({ input: proc.stdout! }).on('line', onLine)
    createInterface({ input: proc.stderr! }).on('line', onLine)
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${script} exited with ${code} before listening:\n${output.join('\n')}`))
    })
  })
  return {
    proc,
    url,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = once(proc, 'exit')
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** The server's "listening" log line carries its url. */
export const serverUrl = (line: string) => {
  if (!line.includes('server listening on')) return undefined
  try {
    return (JSON.parse(line) as { url: string }).url
  } catch {
    return undefined
  }
}

/** user + sys CPU seconds of a process (and, with children, of every process whose parent it is). */
export function cpuSeconds(pid: number, withChildren = false): number {
  const ticks = (p: number) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return { ppid: Number(fields[1]), cpu: Number(fields[11]) + Number(fields[12]) }
    } catch {
      return undefined
    }
  }
  let total = ticks(pid)?.cpu ?? 0
  if (withChildren) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue
      const t = ticks(Number(name))
      if (t && t.ppid === pid) total += t.cpu
    }
  }
  return total / 100 // USER_HZ is 100 on Linux
}
