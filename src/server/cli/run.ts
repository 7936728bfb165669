import cluster, { type Worker } from 'node:cluster'
import { existsSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { ServerConfig } from './config'
import type { FeedMessage } from '../console/feed'
import { createBudget, type Counts } from '../http/budget'
import { importJsonl } from '../store/import'
import { maintain } from './maintain'
import { describe, describeProjects, serve } from './serve'
import { describeStore, migrationOf, openStore, storeSchema } from '../store/open'
import { guardStore } from '../store/guard'
import type { Store } from '../store/store'
import { EVENT_AGE } from '../../protocol'
import { backoffDelay } from '../ops/backoff'
import type { Log } from '../ops/log'
import { createLogger, logTo } from '../ops/logger'
import { aggregate, createMetrics, createPrimaryMetrics, type MetricsJson } from '../ops/metrics'

/**
 * How a collector runs: a primary process that prepares the store (schema, import), and N worker
 * processes that serve HTTP and verify. With PostgreSQL, or SQLite and one worker, each worker
 * writes to the store itself. With SQLite and several workers, the primary keeps the one writing
 * connection and the workers hand it their batches (as JSON messages: V8's structured clone measured
 * slower). Measured with 2 workers on 2 cores, that stored 28,200 events/s where workers writing to
 * the file in turns stored 20,800: each of their writes found its page cache invalidated by the
 * other's, or waited on the lock. The primary starts again, after a pause that grows, a worker that
 * ends; relays the dashboard's live rows between workers; sums the client budgets and the metrics of
 * every worker; and, at SIGHUP, reads the configuration's files again and hands the workers its projects.
 */

/** Messages between the primary and its workers, all marked `signet`. */
type Message =
  | { signet: 'hello' }
  | { signet: 'config'; config: ServerConfig }
  // The store is prepared (a SQLite file migrated, a data file imported): the worker may open it, or send it batches.
  | { signet: 'ready' }
  | { signet: 'store'; n: number; op: StoreOp; args: unknown[] }
  | { signet: 'stored'; n: number; result?: unknown; error?: string; code?: string }
  | { signet: 'feed'; message: FeedMessage }
  | { signet: 'listening'; url: string }
  | { signet: 'failed'; error: string }
  // A worker's counts since its last report (to the primary), or the collector's totals (to the workers).
  | { signet: 'budget'; minute: number; counts: Counts }
  // A worker asks for the whole collector's metrics (answered with text); the primary asks a worker for its own (answered with json).
  | { signet: 'metrics'; n: number; text?: string }
  | { signet: 'sample'; n: number; json?: MetricsJson }

// What a worker may ask of the primary's store.
const STORE_OPS = ['add', 'counts', 'recent', 'rollUp', 'overview', 'people', 'person', 'timeline', 'names', 'eventsByDay', 'attempts', 'forget', 'purge', 'expireForgotten', 'ping'] as const
type StoreOp = (typeof STORE_OPS)[number]

/** SQLite shared by several workers is written by the primary alone. */
// A forgotten event's digest is kept while a tracker could send the event again and have it accepted: for
// the oldest event the collector accepts, and a day.
const keepForgotten = (config: ServerConfig) => (config.maxEventAgeMs ?? EVENT_AGE.past) + 86_400_000
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
// A worker that ends is started again at once, then after 0.25 s, 0.5 s… up to 30 s while they keep
// ending (a crash at every start costs a restart every 30 s, not a spinning primary); a minute
// without an end starts the count again.
const RESTART = { baseMs: 250, capMs: 30_000 }
const STEADY_MS = 60_000
// How often a worker reports its budget counts to the primary, and how long the primary waits for a worker's metrics.
const BUDGET_EVERY_MS = 100
const SAMPLE_MS = 2000
// How long a worker waits for its store before it listens anyway.
const OPEN_WAIT_MS = 2000

const isMessage = (m: unknown): m is Message => !!m && typeof m == 'object' && typeof (m as Message).signet == 'string'
const oneLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).replace(/^signet: /, '')

/** Runs the collector, as the primary or as a worker, whichever this process is. `config` is read again at SIGHUP. */
export async function run(config: ServerConfig | (() => ServerConfig), options: RunOptions): Promise<void> {
  // async: a configuration error rejects (one line from the caller), never throws past it with a stack.
  return cluster.isPrimary ? primary(typeof config == 'function' ? config : () => config, options) : worker(options)
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

async function primary(configOf: () => ServerConfig, { banner }: RunOptions) {
  let config = configOf()
  const log = logTo(createLogger({ format: config.logFormat, base: { role: 'primary' } }))
  const metrics = createPrimaryMetrics()
  const onMigration = (copied: number, total: number) => (metrics.migrated.set(copied), metrics.toMigrate.set(total))
  config = { ...config, port: await probePort(config.port, config.host) }
  const undo = undoStart(config.store)
  // SQLite: the primary opens the file before the workers may store, and imports a data file; a
  // file it cannot open is a start the machine refuses. One of an older schema is migrated while the
  // workers listen, answering 503 and not ready meanwhile, rather than with the port closed.
  // PostgreSQL: each worker connects (and migrates, one at a time), and keeps trying while the
  // database is away; the primary imports a data file once the database answers.
  let store: Store | undefined
  let prepared = Promise.resolve()
  if (!config.store.url) {
    const found = await migrationOf(config.store).catch(() => undefined)
    if (found && found.version < found.target) {
      log(
        `${found.store} has schema ${found.version}: migrating it to schema ${found.target} (${fmt(found.events)} events to copy) while the workers answer 503; signet migrate does it beforehand, port closed`,
      )
      prepared = migrateWhileServing(config, log, onMigration).then((opened) => void (store = opened))
    } else {
      try {
        store = await openStore({ ...config.store, log, onMigration })
      } catch (err) {
        undo()
        throw err
      }
      const imported = await importJsonl(config.importFile, store).catch(async (err) => {
        await store!.close()
        undo()
        throw err
      })
      if (imported) logImport(log, config.importFile, imported)
    }
  } else {
    // Said while the workers migrate it (one at a time), if the database answers now.
    void migrationOf(config.store).then(
      (found) =>
        found &&
        found.version < found.target &&
        log(`${found.store} has schema ${found.version}: the workers migrate it to schema ${found.target} (${fmt(found.events)} events to copy), answering 503 meanwhile; signet migrate does it beforehand`),
      () => {},
    )
    if (existsSync(config.importFile)) void importWhenReachable(config, log, onMigration)
  }
  describe(config, `${describeStore(config.store)} (schema ${storeSchema(config.store)})`).forEach((line) => log(line))
  // Otherwise the workers have their own connections; the primary's were for the schema and the import.
  let shared: Store | undefined
  let upkeep: (() => Promise<void>) | undefined
  // The workers may store once the primary has prepared the store: they are told so ('ready').
  let ready = false
  void prepared.then(async () => {
    if (sharedWriter(config)) shared = store
    else await store?.close()
    upkeep = shared && maintain(shared, { retentionDays: config.retentionDays, keepForgottenMs: keepForgotten(config), log })
    ready = true
    broadcast(undefined, { signet: 'ready' })
  })
  // The collector's client budgets: each worker's counts summed here, and the totals sent to every worker.
  const ledger = config.budget && config.workers > 1 ? createBudget(config.budget) : undefined

  const workers = new Set<Worker>()
  const listening = new Set<Worker>()
  let stopping: Promise<void> | undefined
  let announced = false
  // Once a worker has listened, the store may hold events: a later failure keeps it.
  let served = false
  // Workers that ended in a row, none serving a minute in between: how long the next waits to start.
  let ended = 0
  let lastEnd = 0
  const failedStops: string[] = []

  // A worker may die between isConnected() and the write (killed while its batch was being
  // committed): the message is for no one then, and must not become an 'error' that ends the primary.
  const tell = (w: Worker, message: Message) => w.isConnected() && w.send(message, undefined, undefined, () => {})
  const broadcast = (from: Worker | undefined, message: Message) => workers.forEach((w) => w != from && tell(w, message))

  const answer = async (w: Worker, { n, op, args }: { n: number; op: StoreOp; args: unknown[] }) => {
    let reply: Message
    try {
      if (!shared || !STORE_OPS.includes(op)) throw new Error(`no store operation ${op}`)
      reply = { signet: 'stored', n, result: await (shared[op] as (...a: unknown[]) => Promise<unknown>)(...args) }
    } catch (err) {
      const code = (err as { code?: unknown }).code
      reply = { signet: 'stored', n, error: oneLine(err), ...(typeof code == 'string' && { code }) }
    }
    tell(w, reply)
  }

  // The whole collector's metrics: the primary's and every worker's that answers within SAMPLE_MS.
  let samples = 0
  const asked = new Map<number, (json: MetricsJson | undefined) => void>()
  const sample = (w: Worker) =>
    new Promise<MetricsJson | undefined>((resolve) => {
      const n = ++samples
      const timer = setTimeout(() => (asked.delete(n), resolve(undefined)), SAMPLE_MS)
      asked.set(n, (json) => (clearTimeout(timer), asked.delete(n), resolve(json)))
      if (!tell(w, { signet: 'sample', n })) asked.get(n)!(undefined)
    })
  const allMetrics = async () => {
    const parts = await Promise.all([metrics.registry.getMetricsAsJSON(), ...[...workers].map(sample)])
    return aggregate(parts.filter((p): p is MetricsJson => !!p))
  }

  const stop = (code: number) =>
    (stopping ??= (async () => {
      const exited = [...workers].map((w) => new Promise((r) => (w.isDead() ? r(0) : w.once('exit', r))))
      workers.forEach((w) => w.process.kill('SIGTERM'))
      const late = setTimeout(() => workers.forEach((w) => w.process.kill('SIGKILL')), STOP_MS)
      await Promise.all(exited)
      clearTimeout(late)
      await upkeep?.()
      try {
        await shared?.close()
      } catch (err) {
        failedStops.push(`closing the store failed: ${oneLine(err)}`)
      }
      if (code && !served) undo()
      // A stop a human asked for ends 0 only if every part of it did.
      if (!code && failedStops.length) {
        log(`stopped, but not cleanly: ${failedStops.join('; ')}`, 'error')
        code = 1
      }
      process.exit(code)
    })())

  const fork = (): Worker => {
    const w = cluster.fork()
    workers.add(w)
    w.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      // Asked for, not sent on 'online': a message sent before the worker's module has run is lost.
      if (m.signet == 'hello') {
        tell(w, { signet: 'config', config })
        if (ready) tell(w, { signet: 'ready' })
      }
      else if (m.signet == 'store') void answer(w, m)
      else if (m.signet == 'feed') broadcast(w, m)
      else if (m.signet == 'budget' && ledger) {
        const totals = ledger.sum(m.minute, m.counts)
        if (totals.length) broadcast(undefined, { signet: 'budget', minute: m.minute, counts: totals })
      } else if (m.signet == 'metrics')
        void allMetrics().then(
          (text) => tell(w, { signet: 'metrics', n: m.n, text }),
          (err: unknown) => (log(`gathering the metrics failed: ${oneLine(err)}`, 'error'), tell(w, { signet: 'metrics', n: m.n, text: '' })),
        )
      else if (m.signet == 'sample') asked.get(m.n)?.(m.json)
      else if (m.signet == 'failed') {
        // Before the collector ever served, a worker that cannot listen is a start the machine refuses.
        if (!served) {
          console.error(`signet: ${m.error}`)
          void stop(1)
        } else log(`worker ${w.process.pid} could not start: ${m.error}`, 'error')
      } else if (m.signet == 'listening') {
        listening.add(w)
        metrics.workers.set(listening.size)
        served = true
        if (!announced && listening.size == config.workers) {
          announced = true
          log(`${config.workers} worker process${config.workers > 1 ? 'es' : ''} (pids ${[...listening].map((x) => x.process.pid).join(', ')})`)
          banner(m.url, config).split('\n').forEach((line) => log(line))
        }
      }
    })
    w.on('exit', (code, signal) => {
      workers.delete(w)
      listening.delete(w)
      metrics.workers.set(listening.size)
      const how = signal || `exit code ${code}`
      if (stopping) {
        if (code || signal) failedStops.push(`worker ${w.process.pid} ended with ${how}`)
        return
      }
      metrics.restarts.inc()
      const now = Date.now()
      if (now - lastEnd > STEADY_MS) ended = 0
      lastEnd = now
      const wait = ++ended == 1 ? 0 : backoffDelay(ended - 1, RESTART)
      const none = listening.size ? '' : '; no worker is serving meanwhile'
      log(`worker ${w.process.pid} ended (${how}); starting another ${wait ? `in ${(wait / 1000).toFixed(1)} s (${ended} ended in a row)` : 'now'}${none}`, 'error')
      setTimeout(() => {
        if (stopping) return
        const next = fork()
        log(`started worker ${next.process.pid} in place of ${w.process.pid}`)
      }, wait)
    })
    return w
  }

  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop(0))
  // Under npm (npx signet, npm start) a shell of npm's stands between npm and this process: a
  // SIGTERM to npm ends npm and that shell and reaches no further, and the collector would run on,
  // orphaned. So here, its parent gone, it stops as for a SIGTERM. (Outside npm, a parent that
  // leaves is a shell that started it in the background on purpose: nohup, &.)
  if (process.env.npm_command) {
    const parent = process.ppid
    const watch = setInterval(() => {
      if (process.ppid == parent) return
      clearInterval(watch)
      log(`npm (pid ${parent}) has ended: stopping, as for SIGTERM`)
      void stop(0)
    }, 500)
    watch.unref()
  }
  // SIGHUP: the configuration's files read again (SIGNET_CONFIG, the secret files), their projects
  // handed to every worker for the requests from then on; a configuration that does not load is
  // refused with one line, and the one running stays. The rest (port, store, workers) needs a restart.
  process.on('SIGHUP', () => {
    if (stopping) return
    let next: ServerConfig
    try {
      next = configOf()
    } catch (err) {
      metrics.reloads.inc({ result: 'refused' })
      return log(`SIGHUP: kept the running configuration: ${oneLine(err)}`, 'error')
    }
    if (next.generatedSecret) {
      metrics.reloads.inc({ result: 'refused' })
      return log('SIGHUP: kept the running configuration: no secret is configured (SIGNET_SECRET_FILE or SIGNET_CONFIG) to read again', 'error')
    }
    config = { ...config, projects: next.projects, demoProject: next.demoProject }
    broadcast(undefined, { signet: 'config', config })
    metrics.reloads.inc({ result: 'applied' })
    log(`SIGHUP: reloaded the configuration for new requests: ${describeProjects(config.projects).join('; ')}`)
  })
  // The workers accept connections themselves. Handed out by the primary instead (round robin), a
  // connection sent to a worker that dies before taking it stays open in the primary, unanswered:
  // the tracker waiting on it would send nothing more.
  cluster.schedulingPolicy = cluster.SCHED_NONE
  for (let i = 0; i < config.workers; i++) fork()
}

const fmt = (n: number) => n.toLocaleString('en-US')

/**
 * SQLite of an older schema: migrated (and a data file imported) while the workers serve, tried
 * again with backoff when it fails (a full disk), each failure one line; resolves to the store.
 */
async function migrateWhileServing(config: ServerConfig, log: Log, onMigration: (copied: number, total: number) => void): Promise<Store> {
  for (let failures = 1; ; failures++) {
    let store: Store | undefined
    try {
      const started = performance.now()
      store = await openStore({ ...config.store, log, onMigration })
      log(`${describeStore(config.store)} is at schema ${storeSchema(config.store)} (${((performance.now() - started) / 1000).toFixed(1)} s): storing events`)
      const imported = await importJsonl(config.importFile, store)
      if (imported) logImport(log, config.importFile, imported)
      return store
    } catch (err) {
      await store?.close().catch(() => {})
      const wait = backoffDelay(failures, RESTART)
      log(`migrating ${describeStore(config.store)} failed: ${oneLine(err)}; trying again in ${(wait / 1000).toFixed(1)} s, the workers answering 503 meanwhile`, 'error')
      await new Promise((r) => setTimeout(r, wait))
    }
  }
}

function logImport(log: Log, file: string, imported: NonNullable<Awaited<ReturnType<typeof importJsonl>>>) {
  log(
    `Imported ${imported.imported} events from ${file}` +
      (imported.present ? ` (${imported.present} already stored)` : '') +
      (imported.skipped ? `, skipped ${imported.skipped} unreadable lines` : '') +
      `; moved it to ${imported.renamedTo}`,
  )
}

/** PostgreSQL: the data file of an earlier Signet imported by the primary once the database answers (the workers serve meanwhile). */
async function importWhenReachable(config: ServerConfig, log: Log, onMigration: (copied: number, total: number) => void) {
  const store = guardStore(() => openStore({ ...config.store, log, onMigration }), { description: describeStore(config.store), log })
  try {
    await store.opened
    const imported = await importJsonl(config.importFile, store)
    if (imported) logImport(log, config.importFile, imported)
  } catch (err) {
    log(`importing ${config.importFile} failed: ${oneLine(err)}; it is left where it is, for the next start`, 'error')
  } finally {
    await store.close().catch(() => {})
  }
}

/** The worker's end of the primary's store: every call is a message, answered once the primary has committed. */
function remoteStore(): Store {
  const calls = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>()
  let n = 0
  process.on('message', (m: unknown) => {
    if (!isMessage(m) || m.signet != 'stored') return
    const call = calls.get(m.n)
    calls.delete(m.n)
    if (m.error !== undefined) call?.reject(Object.assign(new Error(m.error), m.code && { code: m.code }))
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
    eventsByDay: (project, period, names) => call('eventsByDay', [project, period, names]),
    attempts: (project, period, limit) => call('attempts', [project, period, limit]),
    forget: (personId, project) => call('forget', [personId, project]),
    purge: (before) => call('purge', [before]),
    expireForgotten: (before) => call('expireForgotten', [before]),
    ping: () => call('ping', []),
    async *lines() {
      throw new Error('signet: read the store itself to export (signet export)')
    },
    close: async () => {},
  }
}

async function worker({ demo, dist }: RunOptions) {
  const send = (m: Message) => process.connected && process.send!(m, undefined, undefined, () => {})
  // The store is the primary's to prepare first: opened (or sent batches) once it says it is ready.
  let storeReady!: () => void
  const prepared = new Promise<void>((resolve) => (storeReady = resolve))
  let config = await new Promise<ServerConfig>((resolve) => {
    process.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      if (m.signet == 'config') resolve(m.config)
      else if (m.signet == 'ready') storeReady()
    })
    send({ signet: 'hello' })
  })
  const log = logTo(createLogger({ format: config.logFormat, base: { role: 'worker' } }))
  // What no boundary caught is a bug: one line saying so, then the primary starts another worker.
  process.on('uncaughtException', (err) => {
    log(`worker ${process.pid} failed: ${err.stack || err.message}`, 'error')
    process.exit(1)
  })
  try {
    const own = !sharedWriter(config)
    const metrics = createMetrics()
    const store = guardStore(
      () =>
        prepared.then(() =>
          own ? openStore({ ...config.store, log, onMigration: (copied, total) => (metrics.migrated.set(copied), metrics.toMigrate.set(total)) }) : remoteStore(),
        ),
      {
        description: describeStore(config.store),
        log,
        channel: !!config.store.url,
        onError: (operation) => metrics.storeErrors.inc({ operation }),
        onState: (state) => metrics.storeUp.set(state == 'up' ? 1 : 0),
      },
    )
    // Listening waits for the store as long as it opens at once; one that does not (a database away,
    // a long migration) is waited for while serving: /track answers 503 and /readyz says not ready.
    await Promise.race([store.tried, new Promise((r) => setTimeout(r, OPEN_WAIT_MS).unref())])
    // One budget for the collector: this worker reports what it counts, and learns the totals.
    const budget = config.budget ? createBudget(config.budget, { reports: config.workers > 1 }) : undefined
    const reporting = budget && config.workers > 1 ? setInterval(() => {
      const report = budget.report()
      if (report) send({ signet: 'budget', ...report })
    }, BUDGET_EVERY_MS) : undefined
    reporting?.unref()
    // The collector's metrics come from the primary, which asks every worker for its own.
    let asking = 0
    const answers = new Map<number, (text: string) => void>()
    const allMetrics = () =>
      new Promise<string>((resolve) => {
        const n = ++asking
        answers.set(n, resolve)
        if (!send({ signet: 'metrics', n })) resolve(metrics.registry.metrics())
      })
    const served = await serve(config, { demo, dist, store, log, metrics, allMetrics, budget, relay: (message) => send({ signet: 'feed', message }) })
    process.on('message', (m: unknown) => {
      if (!isMessage(m)) return
      if (m.signet == 'feed') served.feed?.deliver(m.message)
      else if (m.signet == 'budget') budget?.learn(m.minute, m.counts)
      else if (m.signet == 'sample') void metrics.registry.getMetricsAsJSON().then((json) => send({ signet: 'sample', n: m.n, json }))
      else if (m.signet == 'metrics') {
        answers.get(m.n)?.(m.text ?? '')
        answers.delete(m.n)
      } else if (m.signet == 'config' && m.config != config) {
        try {
          served.reconfigure(m.config.projects)
          config = m.config
        } catch (err) {
          log(`kept the running projects: ${oneLine(err)}`, 'error')
        }
      }
    })
    // The store's upkeep where it is written: here, unless the primary writes for every worker.
    const upkeep = own ? maintain(store, { retentionDays: config.retentionDays, keepForgottenMs: keepForgotten(config), log }) : undefined
    let closing: Promise<void> | undefined
    // Each step of a stop is tried whatever the one before did; the exit code says whether all went well.
    const stop = () =>
      (closing ??= (async () => {
        let code = 0
        const step = async (what: string, fn: () => Promise<unknown> | undefined) => {
          try {
            await fn()
          } catch (err) {
            log(`${what} failed: ${oneLine(err)}`, 'error')
            code = 1
          }
        }
        clearInterval(reporting)
        await step('answering the requests under way', () => served.close(WORKER_GRACE_MS))
        await step('the store’s upkeep', () => upkeep?.())
        await step('closing the store', () => store.close())
        process.exit(code)
      })())
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void stop())
    // The primary reads the configuration again at SIGHUP and hands it over; a terminal's hangup, sent to every process, is its to answer.
    process.on('SIGHUP', () => {})
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
