import cluster, { type Worker } from 'node:cluster'
import type { ServerConfig } from './config'
import type { FeedRow } from './feed'
import { importJsonl } from './import'
import { describe, serve } from './serve'
import { openStore } from './store'

/**
 * How a collector runs: a primary process that prepares the store (schema, import) and then only
 * watches, and N worker processes that each serve HTTP, verify and write to the store. SQLite's
 * WAL lets the workers of one machine write in turns (each from its own writer thread, so waiting
 * for the lock never holds up a request); PostgreSQL lets any number of machines write at once.
 * The primary restarts a worker that dies, and relays the dashboard's live rows between workers.
 */

/** Messages between the primary and its workers, all marked `signet`. */
type Message =
  | { signet: 'hello' }
  | { signet: 'config'; config: ServerConfig }
  | { signet: 'feed'; rows: FeedRow[] }
  | { signet: 'listening'; url: string }
  | { signet: 'failed'; error: string }

export interface RunOptions {
  demo: boolean
  dist: string
  /** Printed with the URL once every worker listens: what to open. */
  banner: (url: string) => string
}

// A SIGTERM gets 10 s: workers have 8 to answer what they hold, then close their store.
const WORKER_GRACE_MS = 8000
const STOP_MS = 9500
// A worker dying this often is a crash loop, not bad luck: stop instead of spinning.
const RESTARTS = { most: 5, withinMs: 60_000 }

const isMessage = (m: unknown): m is Message => !!m && typeof m == 'object' && typeof (m as Message).signet == 'string'
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/^signet: /, '')

/** Runs the collector, as the primary or as a worker, whichever this process is. */
export function run(config: ServerConfig | (() => ServerConfig), options: RunOptions): Promise<void> {
  return cluster.isPrimary ? primary(typeof config == 'function' ? config() : config, options) : worker(options)
}

async function primary(config: ServerConfig, { banner }: RunOptions) {
  const log = (line: string) => console.log(line)
  const store = await openStore({ ...config.store, log })
  const imported = await importJsonl(config.importFile, store)
  if (imported)
    log(
      `Imported ${imported.imported} events from ${config.importFile}` +
        (imported.present ? ` (${imported.present} already stored)` : '') +
        (imported.skipped ? `, skipped ${imported.skipped} unreadable lines` : '') +
        `; moved it to ${imported.renamedTo}`,
    )
  describe(config, store).forEach((line) => log(line))
  // The workers have their own connections; the primary's were for the schema and the import.
  await store.close()

  const workers = new Set<Worker>()
  const listening = new Set<Worker>()
  const restarts: number[] = []
  let stopping: Promise<void> | undefined
  let announced = false

  const broadcast = (from: Worker, message: Message) => workers.forEach((w) => w != from && w.isConnected() && w.send(message))

  const stop = (code: number) =>
    (stopping ??= (async () => {
      const exited = [...workers].map((w) => new Promise((r) => (w.isDead() ? r(0) : w.once('exit', r))))
      workers.forEach((w) => w.process.kill('SIGTERM'))
      const late = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), STOP_MS)
      await Promise.all(exited)
      clearTimeout(late)
      process.exit(code)
    })())

  const fork = () => {
    const w = cluster.fork()
    workers.add(w)
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      // Asked for, not sent on 'online': a message sent before the worker's module has run is lost.
      if (m.signet == 'hello') w.send({ signet: 'config', config } satisfies Message)
      else if (m.signet == 'feed') broadcast(w, m)
      else if (m.signet == 'failed') {
        console.error(`signet: ${m.error}`)
        void stop(1)
      } else if (m.signet == 'listening') {
        listening.add(w)
        if (!announced && listening.size == config.workers) {
          announced = true
          log(`${config.workers} worker process${config.workers > 1 ? 'es' : ''} (pids ${[...listening].map((x) => x.process.pid).join(', ')})`)
          log(banner(m.url))
        }
      }
    })
    w.on('exit', (code, signal) => {
      workers.delete(w)
      listening.delete(w)
      if (stopping) return
      const now = Date.now()
      restarts.push(now)
      while (restarts[0] < now - RESTARTS.withinMs) restarts.shift()
      console.error(`signet: worker ${w.process.pid} ended (${signal || `exit code ${code}`})`)
      if (restarts.length > RESTARTS.most) {
        console.error(`signet: workers ended ${restarts.length} times within a minute; stopping`)
        void stop(1)
      } else fork()
    })
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(0))
  for (let i = 0; i < config.workers; i++) fork()
}

async function worker({ demo, dist }: RunOptions) {
  const send = (m: Message) => process.connected && process.send!(m)
  const config = await new Promise<ServerConfig>((resolve) => {
    process.on('message', (m: unknown) => isMessage(m) && m.signet == 'config' && resolve(m.config))
    send({ signet: 'hello' })
  })
  const log = (line: string) => console.log(line)
  try {
    const store = await openStore({ ...config.store, log })
    const served = await serve(config, { demo, dist, store, log, relay: (rows) => send({ signet: 'feed', rows }) })
    process.on('message', (m: unknown) => isMessage(m) && m.signet == 'feed' && served.feed?.deliver(m.rows))
    let closing: Promise<void> | undefined
    const stop = () =>
      (closing ??= served
        .close(WORKER_GRACE_MS)
        .then(() => store.close())
        .then(() => process.exit(0)))
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop())
    // Without the primary there is nowhere to store: stop taking requests.
    process.on('disconnect', () => void stop())
    send({ signet: 'listening', url: served.url })
  } catch (err) {
    const message = oneLine(err)
    send({
      signet: 'failed',
      error: /EADDRINUSE/.test(message) ? `port ${config.port} on ${config.host} is in use: set PORT (or --port) to another one` : message,
    })
    process.exit(1)
  }
}
