import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  anonymizeIp,
  checkBatch,
  checkProjects,
  HttpError,
  jsonOf,
  LIMITS,
  MAX_ANONYMOUS_PROPS,
  type CollectResult,
  type ProjectConfig,
  type RejectedEvent,
  type Rejection,
  type StoredEvent,
  wireIdOf,
} from '../verify/batch'
import { EVENT_AGE } from '../../protocol'
import { verifyBatchTokens } from '../verify/jwt'
import { deviceParser } from '../verify/device'
import { clientAddress, clientKey, createBudget, DEFAULT_BUDGET, trustedProxies, VERIFICATION_COST, type Budget, type ClientBudget } from './budget'
import { bodyText, CORS_HEADERS, parseJson, PREFLIGHT_HEADERS, readBody, readRequestBody } from './http'

export interface SignetHandlerOptions {
  projects: Record<string, ProjectConfig>
  /**
   * Receives each batch's accepted events (signature removed; time, project, receivedAt, verdict
   * and ip added) and its rejected ones. Store them keyed by project and event id: the tracker re-sends an
   * event it could not confirm, with the same id. The answer waits for a returned promise, so if it
   * rejects the tracker gets a 503 and sends the batch again later. It may resolve to those of
   * `accepted` that conflict with another event stored under the same id (not a repeat of it: another
   * sender or other content): they are answered as rejected, `conflict`.
   */
  onEvents: (accepted: StoredEvent[], rejected: RejectedEvent[], batch: BatchInfo) => Conflicts | Promise<Conflicts>
  /** Largest request body accepted, in bytes, as it arrives (compressed or not); larger ones get 413. Default 128 KiB. */
  maxBodyBytes?: number
  /** Largest body once a gzip body is decompressed; larger ones get 413. Default 512 KiB. */
  maxDecompressedBytes?: number
  /** Most events in one request; more get 413. Default 500. */
  maxEvents?: number
  /**
   * Oldest event accepted, in ms before its batch's sentAt (the age by the device's own clock);
   * older ones are rejected as stale_event. A batch without sentAt is judged by this collector's
   * clock, an hour ahead allowed. Default 7 days, as long as the tracker's outbox keeps an event.
   */
  maxEventAgeMs?: number
  bodyTimeoutMs?: number
  /** The most characters of JSON an anonymous event's props may have; more: too_large. Default 4,096. */
  maxAnonymousProps?: number
  /**
   * What one client address (an IPv6 /64) may have stored per minute, of events without a verified
   * person: past it the request is answered 429 with Retry-After and nothing of it is stored (the
   * tracker sends it again then). Refused events count against it too, and a jwt verification that
   * proved nothing as VERIFICATION_COST events. Default 2,000 events and 2 MiB of stored records;
   * false: none. Counted in this process (or in the budget given, which the reference collector
   * shares between its workers), and only where the client's address is known (node, or ip given).
   */
  budget?: ClientBudget | Budget | false
  /** Called with each request answered 429 for its client's budget (metrics). */
  onBudgetRefusal?: () => void
  /**
   * Addresses (or CIDR ranges) of the reverse proxies in front: a request from one of them is the
   * client's named in X-Forwarded-For (the last address there that is not a proxy's). Read by the
   * node front door; others pass the client's address themselves. Default none: the peer's address.
   */
  trustProxy?: readonly string[]
  /**
   * What is kept of the client's address with each event (and each refused attempt): `truncated`
   * (default: its network, IPv4 /24 or IPv6 /48, as GoSquared's anonymizeIP), `full`, or `none`.
   * A batch that asks for anonymizeIP gets its network at most, whatever this says.
   */
  storeIp?: 'truncated' | 'full' | 'none'
  /** Where unexpected errors are reported; never given a signature or secret. */
  log?: (line: string) => void
}

/** What onEvents may give back: the accepted events that conflicted with what is stored under their id. */
export type Conflicts = void | readonly StoredEvent[]

/** Which project a batch was for. */
export interface BatchInfo {
  /** The batch's project token when it names a configured project. */
  project?: string
  /** The token as sent: untrusted, perhaps a signature by mistake; log at most a short prefix. */
  token: string
  /** The client's address as the events keep it (storeIp, anonymizeIP), if any. */
  ip?: string
}

/** Seconds the tracker waits before re-sending a batch whose events could not be stored. */
export const STORE_RETRY_AFTER = 5

export interface SignetAnswer {
  status: number
  headers: Record<string, string>
  body: CollectResult | { error: string }
}

/**
 * Signet's collect endpoint for your own server: verifies each batch against the projects' Secure
 * Mode and hands the accepted events to onEvents. `node` fits Node's http and Express, `handle`
 * fits frameworks that parsed the body already (Fastify), `fetch` fits Request → Response runtimes
 * (Next.js route handlers, Cloudflare Workers, Deno, Bun).
 */
export function createSignetHandler(options: SignetHandlerOptions) {
  const {
    onEvents,
    maxBodyBytes = 128 * 1024,
    maxDecompressedBytes = 512 * 1024,
    maxEvents = LIMITS.events,
    maxEventAgeMs = EVENT_AGE.past,
    bodyTimeoutMs = 10_000,
    maxAnonymousProps = MAX_ANONYMOUS_PROPS,
    budget: limits = DEFAULT_BUDGET,
    trustProxy = [],
    storeIp = 'truncated',
    log = (line) => console.error(line),
    onBudgetRefusal,
  } = options
  let { projects } = options
  checkProjects(projects)
  if (!(maxEventAgeMs > 0)) throw new Error('signet: maxEventAgeMs must be a positive number of ms')
  const budget = limits && ('take' in limits ? limits : createBudget(limits))
  const proxies = trustProxy.length ? trustedProxies(trustProxy) : undefined
  const json = { 'Content-Type': 'application/json', ...CORS_HEADERS }
  const device = deviceParser()

  const failure = (err: unknown): SignetAnswer => {
    if (err instanceof HttpError) return { status: err.status, headers: json, body: { error: err.message } }
    log(`signet: ${err instanceof Error ? err.message : String(err)}`)
    return { status: 500, headers: json, body: { error: 'internal error' } }
  }

  const tooMany = (retryAfter: number): SignetAnswer => {
    onBudgetRefusal?.()
    return {
      status: 429,
      headers: { ...json, 'Retry-After': String(retryAfter) },
      body: { error: `more events from this address in a minute than the collector takes: send them again in ${retryAfter} s` },
    }
  }

  /** Answers one request body: bytes (JSON, or gzipped JSON), a string of JSON, or an already parsed object. */
  async function handle(body: unknown, ip?: string, userAgent?: string): Promise<SignetAnswer> {
    try {
      // A client that has used its minute up costs no unpacking or parsing.
      const client = ip && budget ? clientKey(ip) : undefined
      const spent = client && budget && budget.spent(client)
      if (spent) return tooMany(spent.retryAfter)
      const arrived = body instanceof Uint8Array ? body.byteLength : typeof body == 'string' ? Buffer.byteLength(body) : 0
      if (arrived > maxBodyBytes) throw new HttpError(413, `body over ${maxBodyBytes} bytes`)
      const text = body instanceof Uint8Array ? bodyText(body, maxDecompressedBytes) : body
      const batch = typeof text == 'string' ? parseJson(text) : text
      const kept = !ip || storeIp == 'none' ? undefined : storeIp == 'full' ? ip : anonymizeIp(ip)
      // Verifications the cache cannot answer are made only while the client can pay for them, should they prove nothing.
      let asked = 0
      const afford = client && budget ? (fresh: number) => (asked = fresh) * VERIFICATION_COST <= budget.left(client) : undefined
      const verified = await verifyBatchTokens(projects, batch, { maxChars: LIMITS.signature, maxEvents, afford })
      if (!verified) {
        // It asked for more than it could pay: charged what it asked, so its next requests are refused before they are read.
        ;(budget as Budget).charge(client!, asked * VERIFICATION_COST)
        return tooMany((budget as Budget).wait())
      }
      const checked = checkBatch(projects, batch, { ip: kept, device: device(userAgent), maxEvents, maxEventAgeMs, maxAnonymousProps, tokens: verified.tokens })
      const anonymized = kept && (batch as { anonymizeIP?: unknown }).anonymizeIP === true ? anonymizeIp(kept) : kept
      const where = { project: checked.project, token: (batch as { project: string }).project, ip: anonymized }
      // A token of a key the provider has just made, not fetched yet: no event is stored, and the
      // tracker keeps them and sends them again after a backoff (no Retry-After: the key may take
      // seconds, or the provider be down for longer). What those tokens claimed is kept as refused
      // attempts, as a refusal would be: a forger's made-up kids leave their evidence too.
      if (verified.transient) {
        if (client && budget) budget.charge(client, verified.failed * VERIFICATION_COST)
        // Not kept if the store cannot take them now: the 503 stands either way.
        await Promise.resolve()
          .then(() => onEvents([], checked.rejected.filter((r) => r.reason == 'unknown_key'), where))
          .catch(() => {})
        return { status: 503, headers: json, body: { error: "a token is signed with a key the identity provider's JWKS has not shown yet; send the events again" } }
      }
      if (client && budget && (checked.rejected.length || verified.failed)) budget.charge(client, checked.rejected.length + verified.failed * VERIFICATION_COST)
      const unverified = checked.accepted.filter((e) => e.verdict != 'verified')
      const over = client && budget && unverified.length && budget.take(client, unverified.length, unverified.reduce((n, e) => n + jsonOf(e).length, 0))
      if (over) return tooMany(over.retryAfter)
      let conflicts: Conflicts
      try {
        conflicts = await onEvents(checked.accepted, checked.rejected, where)
      } catch (err) {
        // Nothing was stored: the tracker keeps the events and sends them again.
        log(`signet: could not store a batch: ${err instanceof Error ? err.message : String(err)}`)
        return { status: 503, headers: { ...json, 'Retry-After': String(STORE_RETRY_AFTER) }, body: { error: 'could not store the events; send them again' } }
      }
      const rejected: Rejection[] = checked.rejected.map(({ id, reason }) => ({ id, reason }))
      for (const e of conflicts || []) rejected.push({ id: wireIdOf(e), reason: 'conflict' })
      return { status: 200, headers: json, body: { accepted: checked.accepted.length - (conflicts || []).length, rejected } }
    } catch (err) {
      return failure(err)
    }
  }

  const early = (method: string | undefined): SignetAnswer | undefined => {
    if (method == 'OPTIONS') return { status: 204, headers: PREFLIGHT_HEADERS, body: { error: '' } }
    if (method != 'POST') return { status: 405, headers: json, body: { error: 'POST a batch' } }
    return undefined
  }

  return {
    handle,

    /** Takes other projects (a configuration reloaded) for the requests that arrive from now on; throws, changing nothing, for ones checkProjects refuses. */
    setProjects(next: Record<string, ProjectConfig>) {
      checkProjects(next)
      projects = next
    },

    /** Node's http and Express: (req, res). Reads the body itself unless a body parser already did. */
    async node(req: IncomingMessage & { body?: unknown }, res: ServerResponse): Promise<void> {
      let answer = early(req.method)
      if (!answer)
        try {
          // A body parser that consumed the stream left what it read in req.body. A client past its
          // budget has its body read too, unparsed (handle): measured, answering it unread and
          // closing its connection cost more than reading (its next request comes on a new one).
          const body = req.readableEnded ? req.body : await readBody(req, maxBodyBytes, bodyTimeoutMs)
          answer = await handle(body, clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], proxies), req.headers['user-agent'])
        } catch (err) {
          answer = failure(err)
        }
      // A refused body (too large, too slow) is not read to its end: the connection goes with the answer.
      const refused = answer.status == 413 || answer.status == 408
      if (refused) res.on('finish', () => req.socket.destroySoon())
      res
        .writeHead(answer.status, refused ? { ...answer.headers, Connection: 'close' } : answer.headers)
        .end(answer.status == 204 ? undefined : JSON.stringify(answer.body))
    },

    /** Request → Response runtimes. */
    async fetch(request: Request, ip?: string): Promise<Response> {
      let answer = early(request.method)
      if (!answer)
        try {
          if (Number(request.headers.get('content-length')) > maxBodyBytes) throw new HttpError(413, `body over ${maxBodyBytes} bytes`)
          answer = await handle(await readRequestBody(request, maxBodyBytes), ip, request.headers.get('user-agent') ?? undefined)
        } catch (err) {
          answer = failure(err)
        }
      return new Response(answer.status == 204 ? null : JSON.stringify(answer.body), { status: answer.status, headers: answer.headers })
    },
  }
}
