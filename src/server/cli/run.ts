import cluster, { type Worker } from 'node:cluster'
import { existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { ServerConfig } from './config'
import type { FeedMessage } from '../console/feed'
import { importJsonl } from '../store/import'
import { maintain } from './maintain'
import { describe, serve } from './serve'
import { openStore } from '../store/open'
import type { Store } from '../store/store'

/**
 * How a collector runs: a primary process that prepares the store (schema, import), and N worker
 * processes that serve HTTP and verify. With PostgreSQL, or SQLite and one worker, each worker
 * writes to the store itself. With SQLite and several workers, the primary keeps the one writing
 * connection and the workers hand it their batches (as JSON messages: V8's structured clone measured
 * slower). Measured with 2 workers on 2 cores, that stored 28,200 events/s where workers writing to
 * the file in turns stored 20,800: each of their writes found its page cache invalidated by the
 * other's, or waited on the lock. The primary restarts a worker that dies, and relays the
 * dashboard's live rows between workers.
 */

/** Messages between the primary and its workers, all marked `signet`. */
type Message =
  | { signet: 'hello' }
  | { signet: 'config'; config: ServerConfig }
  | { signet: 'store'; n: number; op: StoreOp; args: unknown[] }
  | { signet: 'stored'; n: number; result?: unknown; error?: string }
  | { signet: 'feed'; message: FeedMessage }
  | { signet: 'listening'; url: string }
  | { signet: 'failed'; error: string }

// What a worker may ask of the primary's store.
const STORE_OPS = ['add', 'counts', 'recent', 'rollUp', 'overview', 'people', 'person', 'timeline', 'names', 'attempts', 'forget', 'purge'] as const
type StoreOp = (typeof STORE_OPS)[number]

/** SQLite shared by several workers is written by the primary alone. */
const sharedWriter = (config: ServerConfig) => !config.store.url && config.workers > 1

export interface RunOptions {
  demo: boolean
  dist: string
  /** Printed with the URL once every worker listens: what to open. */
  banner: (url: string, config: ServerConfig) => string
}

// A SIGTERM gets 10 s: workers have 8 to answer what they hold, then close their store.
const WORKER_GRACE_MS = 8000
const STOP_MS = 9500
// A worker dying this often is a crash loop, not bad luck: stop instead of spinning.
const RESTARTS = { most: 5, withinMs: 60_000 }

const isMessage = (m: unknown): m is Message => !!m && typeof m == 'object' && typeof (m as Message).signet == 'string'
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/^signet: /, '')

/** Runs the collector, as the primary or as a worker, whichever this process is. */
export async function run(config: ServerConfig | (() => ServerConfig), options: RunOptions): Promise<void> {
  // async: a configuration error rejects (one line from the caller), never throws past it with a stack.
  return cluster.isPrimary ? primary(typeof config == 'function' ? config() : config, options) : worker(options)
}

/**
 * Listens on `port` of `host` for a moment and resolves to the port, refusing one another process
 * listens on now, before anything is created. Port 0 is chosen here once, so that a worker started
 * again listens where the others do.
 */
function probePort(port: number, host: string) {
  return new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code == 'EADDRINUSE' ? new Error(`port ${port} on ${host} is in use: set PORT (or --port) to another one`) : err),
    )
    probe.listen(port, host, () => {
      const { port: chosen } = probe.address() as AddressInfo
      probe.close(() => resolve(chosen))
    })
  })
}

/**
 * What a start that fails removes: the SQLite file and its companions if they were not there
 * before, and the outermost folder that was made for them. A user's existing store is never touched.
 */
function undoStart({ url, file }: ServerConfig['store']) {
  if (url) return () => {}
  const made = [file, `${file}-wal`, `${file}-shm`, `${file}-journal`].filter((f) => !existsSync(f))
  let folder = dirname(file)
  let madeFolder: string | undefined
  while (!existsSync(folder)) {
    madeFolder = folder
    folder = dirname(folder)
  }
  return () => {
    if (madeFolder) rmSync(madeFolder, { recursive: true, force: true })
    else made.forEach((f) => rmSync(f, { force: true }))
  }
}

async function primary(config: ServerConfig, { banner }: RunOptions) {
  const log = (line: string) => console.log(line)
  config = { ...config, port: await probePort(config.port, config.host) }
  const undo = undoStart(config.store)
  let store: Store
  try {
    store = await openStore({ ...config.store, log })
  } catch (err) {
    undo()
    throw err
  }
  const imported = await importJsonl(config.importFile, store).catch(async (err) => {
    await store.close()
    undo()
    throw err
  })
  if (imported)
    log(
      `Imported ${imported.imported} events from ${config.importFile}` +
        (imported.present ? ` (${imported.present} already stored)` : '') +
        (imported.skipped ? `, skipped ${imported.skipped} unreadable lines` : '') +
        `; moved it to ${imported.renamedTo}`,
    )
  describe(config, store).forEach((line) => log(line))
  // Otherwise the workers have their own connections; the primary's were for the schema and the import.
  const shared = sharedWriter(config) ? store : (await store.close(), undefined)
  const upkeep = shared && maintain(shared, { retentionDays: config.retentionDays, log })

  const workers = new Set<Worker>()
  const listening = new Set<Worker>()
  const restarts: number[] = []
  let stopping: Promise<void> | undefined
  let announced = false
  // Once a worker has listened, the store may hold events: a later failure keeps it.
  let served = false

  // A worker may die between isConnected() and the write (killed while its batch was being
  // committed): the message is for no one then, and must not become an 'error' that ends the primary.
  const tell = (w: Worker, message: Message) => w.isConnected() && w.send(message, undefined, undefined, () => {})
  const broadcast = (from: Worker, message: Message) => workers.forEach((w) => w != from && tell(w, message))

  const answer = async (w: Worker, { n, op, args }: { n: number; op: StoreOp; args: unknown[] }) => {
    let reply: Message
    try {
      if (!shared || !STORE_OPS.includes(op)) throw new Error(`no store operation ${op}`)
      reply = { signet: 'stored', n, result: await (shared[op] as (...a: unknown[]) => Promise<unknown>)(...args) }
    } catch (err) {
      reply = { signet: 'stored', n, error: oneLine(err) }
    }
    tell(w, reply)
  }

  const stop = (code: number) =>
    (stopping ??= (async () => {
      const exited = [...workers].map((w) => new Promise((r) => (w.isDead() ? r(0) : w.once('exit', r))))
      workers.forEach((w) => w.process.kill('SIGTERM'))
      const late = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), STOP_MS)
      await Promise.all(exited)
      clearTimeout(late)
      await upkeep?.()
      await shared?.close()
      if (code && !served) undo()
      process.exit(code)
    })())

  const fork = (): Worker => {
    const w = cluster.fork()
    workers.add(w)
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      // Asked for, not sent on 'online': a message sent before the worker's module has run is lost.
      if (m.signet == 'hello') tell(w, { signet: 'config', config })
      else if (m.signet == 'store') void answer(w, m)
      else if (m.signet == 'feed') broadcast(w, m)
      else if (m.signet == 'failed') {
        console.error(`signet: ${m.error}`)
        void stop(1)
      } else if (m.signet == 'listening') {
        listening.add(w)
        served = true
        if (!announced && listening.size == config.workers) {
          announced = true
          log(`${config.workers} worker process${config.workers > 1 ? 'es' : ''} (pids ${[...listening].map((x) => x.process.pid).join(', ')})`)
          log(banner(m.url, config))
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
      const ended = `signet: worker ${w.process.pid} ended (${signal || `exit code ${code}`})`
      if (restarts.length > RESTARTS.most) {
        console.error(`${ended}; workers ended ${restarts.length} times within a minute: stopping`)
        void stop(1)
      } else console.error(`${ended}; started worker ${fork().process.pid} in its place`)
    })
    return w
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(0))
  // The workers accept connections themselves. Handed out by the primary instead (round robin), a
  // connection sent to a worker that dies before taking it stays open in the primary, unanswered:
  // the tracker waiting on it would send nothing more.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  for (let i = 0; i < config.workers; i++) fork()
}

/** The worker's end of the primary's store: every call is a message, answered once the primary has committed. */
function remoteStore(): Store {
  const calls = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>()
  let n = 0
  process.on('message', (m: unknown) => {
    if (!isMessage(m) || m.signet != 'stored') return
    const call = calls.get(m.n)
    calls.delete(m.n)
    if (m.error !== undefined) call?.reject(new Error(m.error))
    else call?.resolve(m.result as never)
  })
  process.on('disconnect', () => {
    calls.forEach((call) => call.reject(new Error('the primary process is gone')))
    calls.clear()
  })
  const call = <T>(op: StoreOp, args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      if (!process.connected) return reject(new Error('the primary process is gone'))
      calls.set(++n, { resolve, reject })
      process.send!({ signet: 'store', n, op, args } satisfies Message)
    })
  return {
    description: 'the primary process',
    add: (events, rejected) => call('add', [events, rejected]),
    counts: (project) => call('counts', [project]),
    recent: (project, options) => call('recent', [project, options]),
    rollUp: () => call('rollUp', []),
    overview: (project, period) => call('overview', [project, period]),
    people: (project, options) => call('people', [project, options]),
    person: (project, personId) => call('person', [project, personId]),
    timeline: (project, personId, options) => call('timeline', [project, personId, options]),
    names: (project, period, limit) => call('names', [project, period, limit]),
    attempts: (project, period, limit) => call('attempts', [project, period, limit]),
    forget: (personId, project) => call('forget', [personId, project]),
    purge: (before) => call('purge', [before]),
    async *lines() {
      throw new Error('signet: read the store itself to export (signet export)')
    },
    close: async () => {},
  }
}

async function worker({ demo, dist }: RunOptions) {
  const send = (m: Message) => process.connected && process.send!(m)
  const config = await new Promise<ServerConfig>((resolve) => {
    process.on('message', (m: unknown) => isMessage(m) && m.signet == 'config' && resolve(m.config))
    send({ signet: 'hello' })
  })
  const log = (line: string) => console.log(line)
  try {
    const own = !sharedWriter(config)
    const store = own ? await openStore({ ...config.store, log }) : remoteStore()
    const served = await serve(config, { demo, dist, store, log, relay: (message) => send({ signet: 'feed', message }) })
    process.on('message', (m: unknown) => isMessage(m) && m.signet == 'feed' && served.feed?.deliver(m.message))
    // The store's upkeep where it is written: here, unless the primary writes for every worker.
    const upkeep = own ? maintain(store, { retentionDays: config.retentionDays, log }) : undefined
    let closing: Promise<void> | undefined
    const stop = () =>
      (closing ??= served
        .close(WORKER_GRACE_MS)
        .then(() => upkeep?.())
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
