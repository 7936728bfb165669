import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { join } from 'node:path'
import { checkProjects, wireIdOf, type ProjectConfig, type RejectedEvent, type StoredEvent } from '../verify/batch'
import { clientKey, trustedProxies, trusts, type ClientBudget } from './budget'
import { createSignetHandler } from './handlers'
import { send } from './http'
import type { Store } from '../store/store'

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
  /** createSignetHandler's: a client's budget per minute, anonymous props, reverse proxies. */
  budget?: ClientBudget | false
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
  log?: (line: string) => void
  /** Called after each batch is committed, with its newly stored events and its rejected ones, and its project (a live view). */
  onResult?: (stored: StoredEvent[], rejected: RejectedEvent[], project?: string) => void
}

const ASSETS = new Set(['/tracker.js', '/adapters/beacon.js', '/adapters/engagespot.js'])
// What was accepted and rejected is logged as a sum per project at most this often, not per request:
// a line per request would cost a busy collector a tenth of its time and fill its disk with logs.
const SUMMARY_MS = 10_000

/** Sums of accepted and rejected events per project, written as one line each when flushed. */
function createTally(log: (line: string) => void) {
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
  const { projects, store, maxBodyBytes, maxEvents, maxEventAgeMs, bodyTimeoutMs, budget, maxAnonymousProps, trustProxy, storeIp, assetDir, log = () => {}, onResult } = options
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
    log,
    async onEvents(accepted, rejected, { project, token, ip }) {
      if (!accepted.length && !rejected.length) return
      const receivedAt = Date.now()
      const outcomes = await store.add(
        accepted,
        rejected.map((r) => ({ project: project ?? '', reason: r.reason, personId: r.event?.personId, receivedAt, ip, origin: originOf(r.event?.page?.url) })),
      )
      const conflicts = accepted.filter((_, i) => outcomes[i] == 'conflict')
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

  /** Handles /track and the tracker's scripts; returns false for any other path so a host server can route it. */
  const handle: Handler = (req, res) => {
    const path = (req.url || '/').split('?')[0]
    if (assetDir && ASSETS.has(path) && (req.method == 'GET' || req.method == 'HEAD')) {
      let script: string | undefined
      try {
        script = readFileSync(join(assetDir, path), 'utf8')
      } catch {
        // Not built: a 404, not a crash of the collector.
      }
      if (script === undefined) send(res, 404, { error: `${path} is not built (npm run build)` })
      else send(res, 200, script, 'text/javascript; charset=utf-8')
      return true
    }
    if (path != '/track') return false
    void signet.node(req, res)
    return true
  }

  let server: Server | undefined

  return {
    handle,
    /** Starts an HTTP server; `other` may serve the paths the collector does not. Resolves to its base URL. */
    listen(port = 0, host = '127.0.0.1', other?: Handler): Promise<string> {
      // A connection is closed that sends no request within headersTimeoutMs (Node's own headers
      // timeout starts with a request's first byte), or that stays open 5 s between requests: 1,100
      // idle connections once held a worker's 1,024 file descriptors for 20 s.
      server = createServer({ headersTimeout: headersTimeoutMs, requestTimeout: 15_000, connectionsCheckingInterval: 1000 }, (req, res) => {
        req.socket.setTimeout(0)
        if (!handle(req, res) && !other?.(req, res)) send(res, 404, { error: 'not found' })
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
