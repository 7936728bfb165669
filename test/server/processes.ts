// The built collector as its users run it, in child processes: started, watched and stopped.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'node:http'

export const CLI = 'dist/cli.mjs'

export interface Started {
  child: ChildProcess
  /** The first match of `pattern` in what it printed. */
  url: Promise<string>
  /** Everything it printed so far. */
  log: () => string
  /** The worker pids it announced. */
  workers: () => number[]
  /** SIGTERM, then resolves to its exit code and how long it took to exit, in ms. */
  stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; ms: number }>
}

/** Starts a server script and resolves `url` to the first match of `pattern` in its output. */
export function startScript(args: string[], env: Record<string, string>, pattern: RegExp, cwd?: string): Started {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH!, ...env } })
  let log = ''
  child.stderr!.on('data', (d) => (log += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      log += d
      const m = pattern.exec(log)
      if (m) resolve(m[1])
    })
    void exited.then((code) => reject(new Error(`exited ${code}\n${log}`)))
  })
  url.catch(() => {})
  return {
    child,
    url,
    log: () => log,
    workers: () => (/pids ([\d, ]+)\)/.exec(log)?.[1] || '').split(', ').filter(Boolean).map(Number),
    async stop(signal = 'SIGTERM') {
      const started = Date.now()
      if (child.exitCode === null) child.kill(signal)
      const code = await exited
      return { code, ms: Date.now() - started }
    },
  }
}

/** `signet collector` with these arguments, resolving `url` to its collect URL once every worker listens. */
export const startCollector = (args: string[], env: Record<string, string> = {}) =>
  startScript([CLI, 'collector', '--port', '0', ...args], env, /Collector: (http:\/\/\S+\/track)/)

/** The most memory the process has held (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]
  return Number(kb) / 1024
}

/** Posts a body; resolves to the status and parsed answer, or to status 0 when the connection failed. */
export function post(url: string, body: string, agent?: Agent): Promise<{ status: number; body?: { accepted: number; rejected: unknown[] } }> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent: agent || false, headers: { 'Content-Type': 'text/plain' } }, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode!, body: res.statusCode == 200 ? JSON.parse(text) : undefined }))
      res.on('error', () => resolve({ status: 0 }))
    })
    req.on('error', () => resolve({ status: 0 }))
    req.end(body)
  })
}

/** Whether a process of this pid is alive (signal 0 asks without sending). */
export const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
