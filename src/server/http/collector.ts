import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { checkProjects, wireIdOf, type ProjectConfig, type RejectedEvent, type StoredEvent } from '../verify/batch'
import { clientKey, trustedProxies, trusts, type Budget, type ClientBudget } from './budget'
import { createDoor, targetOf, type Route } from './door'
import { createSignetHandler } from './handlers'
import { send } from './http'
import { scriptAnswer, SCRIPTS } from './script'
import type { Store } from '../store/store'
import { throttled, type Log } from '../ops/log'
import type { Metrics } from '../ops/metrics'

export * from '../verify/batch'

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean

export interface CollectorOptions {
  projects: Record<string, ProjectConfig>
  /** Where accepted events are stored and rejections counted (openStore). */
  store: Store
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxBodyBytes?: number
  /** Most events in one request; more get 413. */
  maxEvents?: number
  /** Oldest event accepted, in ms before its batch's sentAt (older: stale_event). Default 7 days. */
  maxEventAgeMs?: number
  /** How long a request body may take to arrive, in ms; slower ones get 408. */
  bodyTimeoutMs?: number
  /** createSignetHandler's: a client's budget per minute (or a budget shared with other processes), anonymous props, reverse proxies. */
  budget?: ClientBudget | Budget | false
  maxAnonymousProps?: number
  trustProxy?: readonly string[]
  /** createSignetHandler's storeIp: truncated (default), full or none. */
  storeIp?: 'truncated' | 'full' | 'none'
  /** Connections open at once from one address (an IPv6 /64), a trusted proxy's aside; more are closed as they come. Default 128. */
  maxConnectionsPerAddress?: number
  /** How long a connection may take to send a request's headers, in ms, idle connections included. Default 10 s. */
  headersTimeoutMs?: number
  /** The build folder (dist/): /tracker.js and /adapters/*.js are served from it. */
  assetDir?: string
  /** Where the sums of what was accepted and rejected go (info), and failures (error): a line each. */
  log?: Log
  /** What it counts for /metrics: events accepted and refused, requests, budget refusals, store errors. */
  metrics?: Metrics
  /** Called after each batch is committed, with its newly stored events and its rejected ones, and its project (a live view). */
  onResult?: (stored: StoredEvent[], rejected: RejectedEvent[], project?: string) => void
}

const ASSETS = new Set(SCRIPTS.map((name) => '/' + name))
// What was accepted and rejected is logged as a sum per project at most this often, not per request:
// a line per request would cost a busy collector a tenth of its time and fill its disk with logs.
const SUMMARY_MS = 10_000

/** Sums of accepted and rejected events per project, written as one line each when flushed. */
function createTally(log: Log) {
  const sums = new Map<string, { name: string; accepted: number; rejected: Map<string, number> }>()
  let timer: NodeJS.Timeout | undefined
  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    for (const { name, accepted, rejected } of sums.values()) {
      const reasons = [...rejected].map(([reason, n]) => `${reason} ${n}`).join(', ')
      const total = [...rejected.values()].reduce((a, b) => a + b, 0)
      log(`${name}: ${accepted} accepted` + (total ? `, ${total} rejected (${reasons})` : ''))
    }
    sums.clear()
  }
  return {
    /** Adds a batch's figures to its project's sum (key); `name` is what the line calls it. */
    add(key: string, name: string, accepted: number, rejected: readonly { reason: string }[]) {
      const sum = sums.get(key) || sums.set(key, { name, accepted: 0, rejected: new Map() }).get(key)!
      sum.accepted += accepted
      for (const { reason } of rejected) sum.rejected.set(reason, (sum.rejected.get(reason) || 0) + 1)
      timer ??= setTimeout(flush, SUMMARY_MS).unref()
    },
    flush,
  }
}

/** The origin of the page an event says it came from (untrusted, as everything the sender writes). */
const originOf = (url: unknown) => {
  try {
    return typeof url == 'string' ? new URL(url).origin : undefined
  } catch {
    return undefined
  }
}

/** The reference collector: POST /track through createSignetHandler into a store, and the tracker's scripts. */
export function createCollector(options: CollectorOptions) {
  const { projects, store, maxBodyBytes, maxEvents, maxEventAgeMs, bodyTimeoutMs, budget, maxAnonymousProps, trustProxy, storeIp, assetDir, log = () => {}, metrics, onResult } = options
  const { maxConnectionsPerAddress = 128, headersTimeoutMs = 10_000 } = options
  const proxies = trustProxy?.length ? trustedProxies(trustProxy) : undefined
  checkProjects(projects)
  const tally = createTally(log)

  const signet = createSignetHandler({
    projects,
    maxBodyBytes,
    maxEvents,
    maxEventAgeMs,
    bodyTimeoutMs,
    budget,
    maxAnonymousProps,
    trustProxy,
    storeIp,
    // A store that fails, fails every batch: a line for the first, and then how many more every 10 s.
    log: throttled((line: string) => log(line, 'error')),
    onBudgetRefusal: metrics && (() => metrics.budget.inc()),
    async onEvents(accepted, rejected, { project, token, ip }) {
      if (!accepted.length && !rejected.length) return
      const receivedAt = Date.now()
      let outcomes
      try {
        outcomes = await store.add(
          accepted,
          rejected.map((r) => ({ project: project ?? '', reason: r.reason, personId: r.event?.personId, receivedAt, ip, origin: originOf(r.event?.page?.url) })),
        )
      } catch (err) {
        metrics?.storeErrors.inc({ operation: 'add' })
        throw err
      }
      const conflicts = accepted.filter((_, i) => outcomes[i] == 'conflict')
      if (metrics) {
        // Summed per batch first: a counter's inc costs a label lookup, an event's would be 20 a batch.
        const named = project ?? 'unknown'
        const by = (key: (x: string) => Record<string, string>, values: string[], counter: typeof metrics.events) => {
          const sums = new Map<string, number>()
          for (const v of values) sums.set(v, (sums.get(v) || 0) + 1)
          sums.forEach((n, v) => counter.inc(key(v), n))
        }
        by((verdict) => ({ project: named, verdict }), accepted.filter((_, i) => outcomes[i] == 'stored').map((e) => e.verdict), metrics.events)
        by((reason) => ({ project: named, reason }), [...rejected.map((r) => r.reason), ...conflicts.map(() => 'conflict')], metrics.refused)
      }
      // An unknown token is whatever a sender wrote, perhaps a signature: only a short, printable prefix
      // is logged, of the period's first (a sender can make up any number of tokens).
      const name = project ?? `unknown projects (the first: ${JSON.stringify(token.slice(0, 6).replace(/[^\x20-\x7e]/g, '?') + '…')})`
      tally.add(project ?? '', name, accepted.length - conflicts.length, [...rejected, ...conflicts.map(() => ({ reason: 'conflict' }))])
      onResult?.(
        accepted.filter((_, i) => outcomes[i] == 'stored'),
        [...rejected, ...conflicts.map((e) => ({ id: wireIdOf(e), reason: 'conflict' as const, event: e }))],
        project,
      )
      return conflicts
    },
  })

  /** The tracker's scripts, from the build folder. */
  const script: Route = (req, res, { path }) => {
    if (!assetDir || !ASSETS.has(path) || (req.method != 'GET' && req.method != 'HEAD')) return false
    let text: string | undefined
    try {
      text = readFileSync(join(assetDir, path), 'utf8')
    } catch {
      // Not built: a 404, not a failure of the collector.
    }
    if (text === undefined) send(res, 404, { error: `${path} is not built (npm run build)` })
    else {
      const { status, headers, body } = scriptAnswer(text, req.headers['if-none-match'])
      res.writeHead(status, headers).end(req.method == 'HEAD' ? undefined : body)
    }
    return true
  }
  const track: Route = (req, res, { path }) => path == '/track' && signet.node(req, res)
  /** The collector's routes, named (metrics), for a door of its own (listen) or another server's. */
  const routes: [string, Route][] = [
    ['track', track],
    ['script', script],
  ]

  /** Handles /track and the tracker's scripts; returns false for any other path so a host server can route it. */
  const handle: Handler = (req, res) => {
    const target = targetOf(req.url)
    if (!target) return false
    for (const [, route] of routes) {
      const taken = route(req, res, target)
      if (taken === false) continue
      if (taken !== true) taken.catch((err: unknown) => log(`signet: ${err instanceof Error ? err.message : String(err)}`, 'error'))
      return true
    }
    return false
  }

  let server: Server | undefined

  return {
    handle,
    routes,
    /** Takes a reloaded configuration's projects for the requests from now on (throws for projects checkProjects refuses, changing nothing). */
    setProjects(next: Record<string, ProjectConfig>) {
      signet.setProjects(next)
    },
    /**
     * Starts an HTTP server whose one door (error boundary, metrics) takes the collector's routes,
     * then `others` for the paths the collector does not serve. Resolves to its base URL.
     */
    listen(port = 0, host = '127.0.0.1', others: [string, Route][] = []): Promise<string> {
      const door = createDoor([...routes, ...others], {
        log,
        done: metrics && ((route, method, status, seconds) => {
          metrics.requests.inc({ route, method, status })
          if (seconds !== undefined) metrics.latency.observe({ route }, seconds)
        }),
      })
      // A connection is closed that sends no request within headersTimeoutMs (Node's own headers
      // timeout starts with a request's first byte), or that stays open 5 s between requests: 1,100
      // idle connections once held a worker's 1,024 file descriptors for 20 s.
      server = createServer({ headersTimeout: headersTimeoutMs, requestTimeout: 15_000, connectionsCheckingInterval: 1000 }, (req, res) => {
        req.socket.setTimeout(0)
        door(req, res)
      })
      server.keepAliveTimeout = 5000
      // And one address may hold only so many at once (a proxy in front holds everyone's).
      const open = new Map<string, number>()
      server.on('connection', (socket) => {
        const address = socket.remoteAddress || ''
        if (proxies && trusts(proxies, address)) return
        const key = clientKey(address)
        const count = open.get(key) || 0
        if (count >= maxConnectionsPerAddress) return void socket.destroy()
        open.set(key, count + 1)
        socket.once('close', () => (open.get(key)! > 1 ? open.set(key, open.get(key)! - 1) : open.delete(key)))
      })
      server.on('connection', (socket) => socket.setTimeout(headersTimeoutMs, () => socket.destroy()))
      return new Promise((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(port, host, () => {
          const address = server!.address()
          resolve(`http://${host}:${typeof address == 'object' && address ? address.port : port}`)
        })
      })
    },
    /**
     * Stops accepting connections and resolves once the requests under way are answered, or after
     * `graceMs`, when the connections still open are cut; then logs what the last sums hold. The
     * store stays open: it is the caller's.
     */
    close(graceMs = 8000): Promise<void> {
      return new Promise<void>((resolve) => {
        if (!server?.listening) return resolve()
        const open = server
        const cut = setTimeout(() => open.closeAllConnections(), graceMs)
        // Keep-alive connections are closed as soon as their request is answered.
        const idle = setInterval(() => open.closeIdleConnections(), 50)
        open.close(() => {
          clearTimeout(cut)
          clearInterval(idle)
          resolve()
        })
      }).then(tally.flush)
    },
  }
}

export type Collector = ReturnType<typeof createCollector>
