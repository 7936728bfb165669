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

/** What the collector stores: the event without its signature, plus where and how it arrived. */
export type StoredEvent = Omit<IncomingEvent, 'signature'> & { project: string; receivedAt: number; verdict: Verdict }

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

export const validEvent = (e: unknown): e is IncomingEvent =>
  isObject(e) &&
  isText(e.id, 128) &&
  TYPES.has(e.type as string) &&
  Number.isFinite(e.ts) &&
  isText(e.anonymousId, 128) &&
  optionalText(e.personId, 512) &&
  optionalText(e.signature, 1024) &&
  (e.type == 'event' ? isText(e.name, 512) : optionalText(e.name, 512)) &&
  (e.props === undefined || isObject(e.props)) &&
  (e.page === undefined || isObject(e.page))

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
  const { projects, dataFile, maxBodyBytes = 128 * 1024, assetDir, log = () => {}, onEvents } = options
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
  function collect(batch: unknown, receivedAt = Date.now()): CollectResult {
    if (!isObject(batch) || batch.v !== 1 || typeof batch.project != 'string' || !Array.isArray(batch.events))
      throw new HttpError(400, 'expected {"v": 1, "project": "<token>", "events": [...]}')
    const token = batch.project
    const project = Object.prototype.hasOwnProperty.call(projects, token) ? projects[token] : undefined
    const rejected: Rejection[] = []
    const stored: StoredEvent[] = []
    let accepted = 0
    for (const e of batch.events as unknown[]) {
      const reject = (reason: string) => {
        rejected.push({ id: isObject(e) && typeof e.id == 'string' ? e.id.slice(0, 128) : '', reason })
        count(reason)
      }
      if (!project) {
        reject('unknown_project')
        continue
      }
      if (!validEvent(e)) {
        reject('invalid_event')
        continue
      }
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
      stored.push({ ...rest, project: token, receivedAt, verdict })
    }
    if (stored.length) {
      if (dataFile) appendFileSync(dataFile, stored.map((e) => JSON.stringify(e) + '\n').join(''))
      recent.push(...stored)
      if (recent.length > MEMORY_LIMIT) recent.splice(0, recent.length - MEMORY_LIMIT)
      onEvents?.(stored)
    }
    const reasons = [...new Set(rejected.map((r) => r.reason))].join(', ')
    log(`${token.slice(0, 64)}: ${accepted} accepted` + (rejected.length ? `, ${rejected.length} rejected (${reasons})` : ''))
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
      req.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxBodyBytes) {
          req.removeAllListeners('data')
          reject(new HttpError(413, `body over ${maxBodyBytes} bytes`))
        } else chunks.push(chunk)
      })
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })
  }

  /** Handles /track and the tracker's scripts; returns false for any other path so a host server can route it. */
  const handle: Handler = (req, res) => {
    const path = (req.url || '/').split('?')[0]
    if (assetDir && ASSETS.has(path) && (req.method == 'GET' || req.method == 'HEAD')) {
      send(res, 200, readFileSync(join(assetDir, path), 'utf8'), 'text/javascript; charset=utf-8')
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
          send(res, 200, collect(batch))
        })
        .catch((err: unknown) => {
          const status = err instanceof HttpError ? err.status : 500
          if (status == 500) log(`error: ${err instanceof Error ? err.message : String(err)}`)
          // Closing after a refused body stops the rest of it from being read.
          if (status == 413) res.setHeader('Connection', 'close')
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
