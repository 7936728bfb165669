import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { dirname, join } from 'node:path'
import { verifySignature, type Secret } from './signature'
import { parseVerificationKey, verifyVerificationToken } from './token'

export type Handler = (req: IncomingMessage, res: ServerResponse) => boolean

export type SecureMode = 'off' | 'report' | 'enforce'

/** hex / base64: HMAC-SHA256 of the person id in that encoding; token: GetintheLoop verification tokens. */
export type Scheme = 'hex' | 'base64' | 'token'

export interface ProjectConfig {
  secureMode: SecureMode
  /** Every secret that may have signed a person id (Verification Keys for `token`); several while rotating. */
  secrets: Secret[]
  /** Which signatures count; without one, hex or base64 HMACs both do. */
  scheme?: Scheme
  /** token: the oldest accepted token, in seconds. Default one day. */
  maxAgeSeconds?: number
}

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
  /** Called with each batch's newly stored events. */
  onEvents?: (events: StoredEvent[]) => void
}

export type EventType = 'pageview' | 'event' | 'identify' | 'properties'

export interface IncomingEvent {
  id: string
  type: EventType
  ts: number
  anonymousId: string
  personId?: string
  signature?: string
  name?: string
  props?: Record<string, unknown>
  page?: { url?: string; title?: string; referrer?: string }
}

/**
 * verified: signed for its personId; anonymous: no personId; unchecked: identified, Secure Mode off;
 * missing_signature / bad_signature / expired_signature: stored only in report mode.
 */
export type Verdict = 'verified' | 'anonymous' | 'unchecked' | 'missing_signature' | 'bad_signature' | 'expired_signature'

/**
 * What the collector stores: the event without its signature, plus where and how it arrived.
 * ip is the sender's address, cut to its network (IPv4 /24, IPv6 /48) when the batch asked for anonymizeIP.
 */
export type StoredEvent = Omit<IncomingEvent, 'signature'> & { project: string; receivedAt: number; verdict: Verdict; ip?: string }

/** Field limits, the same as the tracker's (docs/protocol.md). */
export const LIMITS = { id: 128, name: 256, personId: 512, signature: 1024, props: 8192, url: 2048, title: 512, events: 500 }

/** IPv4 to its /24, IPv6 to its /48, so the address names a network and not a household. */
export function anonymizeIp(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+)\.\d+$/.exec(ip)
  if (v4) return v4[1] + '.0'
  const groups = ip.split(':')
  return ip.includes(':') ? groups.slice(0, 3).join(':') + '::' : ip
}

/** What the collector does to the next POST /track requests instead of answering them (for fault-injection tests). */
export type Fault = { status: number; retryAfter?: number } | { reset: true }

export interface Rejection {
  id: string
  reason: string
}

export interface CollectResult {
  accepted: number
  rejected: Rejection[]
}

const TYPES = new Set(['pageview', 'event', 'identify', 'properties'])
const DAY = 86_400
const ASSETS = new Set(['/tracker.js', '/adapters/beacon.js', '/adapters/engagespot.js'])
const MEMORY_LIMIT = 10_000

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v == 'object' && !Array.isArray(v)
const isText = (v: unknown, max: number) => typeof v == 'string' && v.length > 0 && v.length <= max
const optionalText = (v: unknown, max: number) => v === undefined || isText(v, max)

const optionalString = (v: unknown, max: number) => v === undefined || (typeof v == 'string' && v.length <= max)

/** Why an event cannot be stored (invalid_event, too_large), or undefined when it can. */
export function eventProblem(e: unknown): 'invalid_event' | 'too_large' | undefined {
  if (
    !isObject(e) ||
    !isText(e.id, LIMITS.id) ||
    !TYPES.has(e.type as string) ||
    !Number.isFinite(e.ts) ||
    !isText(e.anonymousId, LIMITS.id) ||
    (e.type == 'event' && typeof e.name != 'string') ||
    (e.props !== undefined && !isObject(e.props)) ||
    (e.page !== undefined && !isObject(e.page))
  )
    return 'invalid_event'
  const page = (e.page || {}) as Record<string, unknown>
  if (
    !optionalText(e.personId, LIMITS.personId) ||
    !optionalText(e.signature, LIMITS.signature) ||
    !optionalText(e.name, LIMITS.name) ||
    !optionalString(page.url, LIMITS.url) ||
    !optionalString(page.referrer, LIMITS.url) ||
    !optionalString(page.title, LIMITS.title) ||
    (e.props !== undefined && JSON.stringify(e.props).length > LIMITS.props)
  )
    return 'too_large'
  return undefined
}

export const validEvent = (e: unknown): e is IncomingEvent => !eventProblem(e)

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

function verdictOf(project: ProjectConfig, e: IncomingEvent): Verdict {
  if (e.personId === undefined) return 'anonymous'
  if (project.secureMode == 'off') return 'unchecked'
  if (e.signature === undefined) return 'missing_signature'
  if (project.scheme == 'token') {
    const check = verifyVerificationToken(project.secrets as string[], e.personId, e.signature, {
      maxAgeSeconds: project.maxAgeSeconds ?? DAY,
    })
    return check.ok ? 'verified' : check.reason
  }
  return verifySignature(project.secrets, e.personId, e.signature, project.scheme) ? 'verified' : 'bad_signature'
}

const REFUSED: ReadonlySet<Verdict> = new Set(['missing_signature', 'bad_signature', 'expired_signature'])

export function createCollector(options: CollectorOptions) {
  const {
    projects,
    dataFile,
    maxBodyBytes = 128 * 1024,
    maxEvents = LIMITS.events,
    bodyTimeoutMs = 10_000,
    assetDir,
    log = () => {},
    onEvents,
  } = options
  for (const [token, p] of Object.entries(projects)) {
    if (!['off', 'report', 'enforce'].includes(p.secureMode))
      throw new Error(`signet: project ${token}: secureMode must be off, report or enforce`)
    if (p.secureMode != 'off' && !p.secrets.length)
      throw new Error(`signet: project ${token}: Secure Mode ${p.secureMode} needs at least one secret`)
    if (p.scheme !== undefined && !['hex', 'base64', 'token'].includes(p.scheme))
      throw new Error(`signet: project ${token}: scheme must be hex, base64 or token`)
    if (p.scheme == 'token') for (const key of p.secrets) parseVerificationKey(String(key))
  }

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
    if (!isObject(batch) || batch.v !== 1 || typeof batch.project != 'string' || !Array.isArray(batch.events))
      throw new HttpError(400, 'expected {"v": 1, "project": "<token>", "events": [...]}')
    if (batch.events.length > maxEvents) throw new HttpError(413, `more than ${maxEvents} events in one request`)
    if (ip && batch.anonymizeIP === true) ip = anonymizeIp(ip)
    const token = batch.project
    const project = Object.prototype.hasOwnProperty.call(projects, token) ? projects[token] : undefined
    const rejected: Rejection[] = []
    const stored: StoredEvent[] = []
    let accepted = 0
    for (const item of batch.events as unknown[]) {
      const reject = (reason: string) => {
        rejected.push({ id: isObject(item) && typeof item.id == 'string' ? item.id.slice(0, LIMITS.id) : '', reason })
        count(reason)
      }
      if (!project) {
        reject('unknown_project')
        continue
      }
      const problem = eventProblem(item)
      if (problem) {
        reject(problem)
        continue
      }
      const e = item as IncomingEvent
      const verdict = verdictOf(project, e)
      if (project.secureMode == 'enforce' && REFUSED.has(verdict)) {
        reject(verdict)
        continue
      }
      accepted++
      const k = key(token, e.id)
      if (seen.has(k)) continue
      seen.add(k)
      count(verdict)
      const { signature: _, ...rest } = e
      stored.push({ ...rest, project: token, receivedAt, verdict, ...(ip && { ip }) })
    }
    if (stored.length) {
      if (dataFile) appendFileSync(dataFile, stored.map((e) => JSON.stringify(e) + '\n').join(''))
      recent.push(...stored)
      if (recent.length > MEMORY_LIMIT) recent.splice(0, recent.length - MEMORY_LIMIT)
      onEvents?.(stored)
    }
    const reasons = [...new Set(rejected.map((r) => r.reason))].join(', ')
    // An unknown token is whatever a sender wrote, perhaps a signature: only a short, printable prefix is logged.
    const name = project ? token : `unknown project ${JSON.stringify(token.slice(0, 6).replace(/[^\x20-\x7e]/g, '?') + '…')}`
    log(`${name}: ${accepted} accepted` + (rejected.length ? `, ${rejected.length} rejected (${reasons})` : ''))
    return { accepted, rejected }
  }

  let fault: { what: Fault; times: number } | undefined
  let requests = 0

  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json', retryAfter?: number) => {
    res.writeHead(status, {
      'Content-Type': type,
      'Access-Control-Allow-Origin': '*',
      // Without it a page on another origin cannot read Retry-After.
      'Access-Control-Expose-Headers': 'Retry-After',
      'Cache-Control': 'no-store',
      ...(retryAfter !== undefined && { 'Retry-After': String(retryAfter) }),
    })
    res.end(typeof body == 'string' ? body : JSON.stringify(body))
  }

  function readBody(req: IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      if (Number(req.headers['content-length']) > maxBodyBytes)
        return reject(new HttpError(413, `body over ${maxBodyBytes} bytes`))
      const chunks: Buffer[] = []
      let size = 0
      // A body trickling in slower than this holds a connection for nothing.
      const timer = setTimeout(() => reject(new HttpError(408, 'request body too slow')), bodyTimeoutMs)
      req.on('close', () => clearTimeout(timer))
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBodyBytes) {
          req.removeAllListeners('data')
          reject(new HttpError(413, `body over ${maxBodyBytes} bytes`))
        } else chunks.push(chunk)
      })
      req.on('end', () => {
        clearTimeout(timer)
        resolve(Buffer.concat(chunks).toString('utf8'))
      })
      req.on('error', reject)
    })
  }

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
    if (req.method == 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type',
        'Access-Control-Max-Age': '86400',
      })
      res.end()
    } else if (req.method != 'POST') send(res, 405, { error: 'POST a batch to /track' })
    else if ((requests++, fault && fault.times-- > 0)) {
      const what = fault!.what
      if ('reset' in what) req.socket.destroy()
      else req.resume().on('end', () => send(res, what.status, { error: 'injected fault' }, undefined, what.retryAfter))
    } else
      readBody(req)
        .then((text) => {
          let batch: unknown
          try {
            batch = JSON.parse(text)
          } catch {
            throw new HttpError(400, 'malformed JSON')
          }
          send(res, 200, collect(batch, Date.now(), req.socket.remoteAddress))
        })
        .catch((err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500
          if (status == 500) log(`error: ${err instanceof Error ? err.message : String(err)}`)
          // Closing after a refused body stops the rest of it from being read.
          if (status == 413 || status == 408) res.setHeader('Connection', 'close')
          send(res, status, { error: err instanceof HttpError ? err.message : 'internal error' })
        })
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
