import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import {
  checkBatch,
  checkProjects,
  LIMITS,
  type CollectResult,
  type ProjectConfig,
  type RejectedEvent,
  type StoredEvent,
} from './batch'
import { parseJson, PREFLIGHT_HEADERS, readBody, send, sendError } from './http'

export * from './batch'

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean

export interface CollectorOptions {
  projects: Record<string, ProjectConfig>
  /** JSONL file the accepted events are appended to; events are kept in memory only without it. */
  dataFile?: string
  /** Largest request body accepted, in bytes; larger ones get 413. */
  maxBodyBytes?: number
  /** Most events in one request; more get 413. */
  maxEvents?: number
  /** How long a request body may take to arrive, in ms; slower ones get 408. */
  bodyTimeoutMs?: number
  /** The build folder (dist/): /tracker.js and /adapters/*.js are served from it. */
  assetDir?: string
  log?: (line: string) => void
  /** Called after each batch with its newly stored events and its rejected ones (a live view, a queue). */
  onResult?: (stored: StoredEvent[], rejected: RejectedEvent[]) => void
}

/** What the collector does to the next POST /track requests instead of answering them (for fault-injection tests). */
export type Fault = { status: number; retryAfter?: number } | { reset: true }

const ASSETS = new Set(['/tracker.js', '/adapters/beacon.js', '/adapters/engagespot.js'])
const MEMORY_LIMIT = 10_000

export function createCollector(options: CollectorOptions) {
  const {
    projects,
    dataFile,
    maxBodyBytes = 128 * 1024,
    maxEvents = LIMITS.events,
    bodyTimeoutMs = 10_000,
    assetDir,
    log = () => {},
    onResult,
  } = options
  checkProjects(projects)

  const seen = new Set<string>()
  // Counts per verdict stored and per reason rejected, since start.
  const counts: Record<string, number> = {}
  const count = (k: string) => (counts[k] = (counts[k] || 0) + 1)
  const recent: StoredEvent[] = []
  const key = (project: string, id: string) => project + '\n' + id
  if (dataFile && existsSync(dataFile)) {
    const text = readFileSync(dataFile, 'utf8')
    // A line cut short by a crash must not run into the next record appended after it.
    if (text && !text.endsWith('\n')) appendFileSync(dataFile, '\n')
    for (const line of text.split('\n')) {
      try {
        const e = JSON.parse(line) as StoredEvent
        seen.add(key(e.project, e.id))
      } catch {
        // That cut-short line is skipped; the lines around it are intact.
      }
    }
  } else if (dataFile) mkdirSync(dirname(dataFile), { recursive: true })

  /** Verifies and stores one parsed request body. Throws HttpError for a body that is not a batch. */
  function collect(batch: unknown, receivedAt = Date.now(), ip?: string): CollectResult {
    const checked = checkBatch(projects, batch, { receivedAt, ip, maxEvents })
    const stored = checked.accepted.filter((e) => {
      const k = key(e.project, e.id)
      return !seen.has(k) && !!seen.add(k)
    })
    for (const e of stored) count(e.verdict)
    for (const r of checked.rejected) count(r.reason)
    if (stored.length) {
      if (dataFile) appendFileSync(dataFile, stored.map((e) => JSON.stringify(e) + '\n').join(''))
      recent.push(...stored)
      if (recent.length > MEMORY_LIMIT) recent.splice(0, recent.length - MEMORY_LIMIT)
    }
    onResult?.(stored, checked.rejected)
    const token = (batch as { project: string }).project
    const accepted = checked.accepted.length
    const { rejected } = checked
    const reasons = [...new Set(rejected.map((r) => r.reason))].join(', ')
    // An unknown token is whatever a sender wrote, perhaps a signature: only a short, printable prefix is logged.
    const name = checked.project || `unknown project ${JSON.stringify(token.slice(0, 6).replace(/[^\x20-\x7e]/g, '?') + '…')}`
    log(`${name}: ${accepted} accepted` + (rejected.length ? `, ${rejected.length} rejected (${reasons})` : ''))
    return { accepted, rejected: rejected.map(({ id, reason }) => ({ id, reason })) }
  }

  let fault: { what: Fault; times: number } | undefined
  let requests = 0

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
    if (req.method == 'OPTIONS') res.writeHead(204, PREFLIGHT_HEADERS).end()
    else if (req.method != 'POST') send(res, 405, { error: 'POST a batch to /track' })
    else if ((requests++, fault && fault.times-- > 0)) {
      const what = fault!.what
      if ('reset' in what) req.socket.destroy()
      else req.resume().on('end', () => send(res, what.status, { error: 'injected fault' }, undefined, what.retryAfter))
    } else
      readBody(req, maxBodyBytes, bodyTimeoutMs)
        .then((text) => send(res, 200, collect(parseJson(text), Date.now(), req.socket.remoteAddress)))
        .catch((err: unknown) => sendError(res, err, log))
    return true
  }

  let server: Server | undefined

  return {
    collect,
    handle,
    /** The events stored since start (the most recent 10,000). */
    events: (): readonly StoredEvent[] => recent,
    /** How many events were stored per verdict and rejected per reason since start. */
    stats: (): Readonly<Record<string, number>> => counts,
    /** How many POST /track requests arrived since start, answered or not. */
    requests: () => requests,
    /** Makes the next `times` POST /track requests fail this way; undefined ends it. */
    inject(what: Fault | undefined, times = Infinity) {
      fault = what && { what, times }
    },
    /** Starts an HTTP server; `other` may serve the paths the collector does not. Resolves to its base URL. */
    listen(port = 0, host = '127.0.0.1', other?: Handler): Promise<string> {
      server = createServer((req, res) => {
        if (!handle(req, res) && !other?.(req, res)) send(res, 404, { error: 'not found' })
      })
      server.requestTimeout = 15_000
      return new Promise((resolve, reject) => {
        server!.once('error', reject)
        server!.listen(port, host, () => {
          const address = server!.address()
          resolve(`http://${host}:${typeof address == 'object' && address ? address.port : port}`)
        })
      })
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        if (!server) return resolve()
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}

export type Collector = ReturnType<typeof createCollector>
