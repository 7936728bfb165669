import { EVENT_AGE, EVENT_TYPES, LIMITS, malformedId, type CollectResult, type EventType, type Rejection, type RejectionReason, type WireEvent } from '../../protocol'
import { verifySignature, type Secret } from './signature'
import { parseVerificationKey, verifyVerificationToken } from './token'
import { checkJwtOptions, type JwtOptions, type JwtResult } from './jwt'

export type SecureMode = 'off' | 'report' | 'enforce'

/** hex / base64: HMAC-SHA256 of the person id in that encoding; token: GetintheLoop verification tokens; jwt: JWTs (HMAC secrets, or public keys). */
export type Scheme = 'hex' | 'base64' | 'token' | 'jwt'

export interface ProjectConfig {
  secureMode: SecureMode
  /** Every secret that may have signed a person id (Verification Keys for `token`); several while rotating. */
  secrets: Secret[]
  /** Which signatures count; without one, hex or base64 HMACs both do. */
  scheme?: Scheme
  /** token: the oldest accepted token, in seconds. Default one day. */
  maxAgeSeconds?: number
  /** jwt: public keys or a JWKS URL, issuer, audience and the rest (verify/jwt.ts). With secrets only, HMAC JWTs. */
  jwt?: JwtOptions
}

export { LIMITS, type CollectResult, type EventType, type Rejection, type RejectionReason }

/** An event as a sender may send it (the collector checks every field). */
export type IncomingEvent = WireEvent

/**
 * verified: signed for its personId; anonymous: no personId; unchecked: identified, Secure Mode off;
 * missing_signature / bad_signature / expired_signature: stored only in report mode.
 */
export type Verdict =
  | 'verified'
  | 'anonymous'
  | 'unchecked'
  | 'missing_signature'
  | 'bad_signature'
  | 'expired_signature'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_key'
  | 'person_mismatch'

/**
 * What the collector stores: the event without its signature, plus where and how it arrived.
 * time is when the event happened by the collector's clock (ts corrected by the batch's sentAt).
 * ip is the sender's address, cut to its network (IPv4 /24, IPv6 /48) when the batch asked for anonymizeIP.
 * device is the browser, system and device type its User-Agent header names (device.ts).
 */
export type StoredEvent = Omit<IncomingEvent, 'signature'> & { time: number; project: string; receivedAt: number; verdict: Verdict; ip?: string; device?: string }

type Added = Pick<StoredEvent, 'time' | 'project' | 'receivedAt' | 'verdict' | 'ip' | 'device'>

/** IPv4 to its /24, IPv6 to its /48, so the address names a network and not a household. */
export function anonymizeIp(ip: string): string {
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+)\.\d+$/.exec(ip)
  if (v4) return v4[1] + '.0'
  const groups = ip.split(':')
  return ip.includes(':') ? groups.slice(0, 3).join(':') + '::' : ip
}

const TYPES = new Set<unknown>(EVENT_TYPES)
const DAY = 86_400

export const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v == 'object' && !Array.isArray(v)
const isText = (v: unknown, max: number) => typeof v == 'string' && v.length > 0 && v.length <= max
// An id is a key in the database and the message a signature covers: protocol.ts's malformedId
// says which would not mean one thing.
const isId = (v: unknown, max: number) => isText(v, max) && !malformedId(v as string)
const optionalText = (v: unknown, max: number) => v === undefined || isText(v, max)

const optionalString = (v: unknown, max: number) => v === undefined || (typeof v == 'string' && v.length <= max)

// The JSON each accepted event was measured by, so that a store writes it without making it again.
const storedJson = new WeakMap<StoredEvent, string>()

/** The stored record's JSON text, as measured by checkBatch or made now. */
export const jsonOf = (e: StoredEvent): string => storedJson.get(e) ?? JSON.stringify(e)

// The id an accepted event had on the wire, where it is stored under another (a transaction).
const wireIds = new WeakMap<StoredEvent, string>()

/** The id the sender gave an accepted event: what an answer about it names. */
export const wireIdOf = (e: StoredEvent): string => wireIds.get(e) ?? e.id

/**
 * The id a transaction is stored under: its own id, and who made it (a verified person, or else
 * the person id or anonymous id it came with, marked unverified), so that one sender's order can be
 * neither claimed before nor taken over by another; the same order sent again by its maker is one.
 * The maker's length keeps any two of them apart, whatever characters they hold.
 */
export const transactionKey = (e: IncomingEvent, verdict?: Verdict) => {
  const maker = e.personId ?? e.anonymousId
  return `tx:${verdict == 'verified' ? 'v' : 'u'}:${maker.length}:${maker}:${e.name}`
}

/** Why an event cannot be stored (invalid_event, too_large), or undefined when it can. */
export function eventProblem(e: unknown): 'invalid_event' | 'too_large' | undefined {
  if (
    !isObject(e) ||
    !isId(e.id, LIMITS.id) ||
    !TYPES.has(e.type as string) ||
    !Number.isFinite(e.ts) ||
    !isId(e.anonymousId, LIMITS.id) ||
    (typeof e.personId == 'string' && malformedId(e.personId)) ||
    (e.type == 'event' && typeof e.name != 'string') ||
    (e.type == 'transaction' && !transactionValid(e)) ||
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
    (e.props !== undefined && !(jsonLength(e.props) <= LIMITS.props))
  )
    return 'too_large'
  return undefined
}

// A transaction names its id and carries its totals as numbers (the tracker computes them from the items).
const transactionValid = (e: Record<string, unknown>) => {
  const props = e.props as Record<string, unknown> | undefined
  return isText(e.name, LIMITS.transactionId) && isObject(props) && Number.isFinite(props.revenue) && Number.isFinite(props.quantity)
}

// Props nested deeper than JSON.stringify can recurse are too large by any measure, not a crash.
const jsonLength = (v: unknown) => {
  try {
    return JSON.stringify(v).length
  } catch {
    return Infinity
  }
}

/**
 * The event as it will be stored: only the keys of the wire format (docs/protocol.md), `page` with
 * only url, title and referrer, no signature, then what the collector adds. Anything else a sender
 * adds is dropped, so what is kept per event is bounded by the field limits. Takes an event that
 * passed eventProblem. (Built key by key: a spread of a parsed object is several times slower.)
 */
export function storableEvent(e: IncomingEvent): Omit<IncomingEvent, 'signature'>
export function storableEvent(e: IncomingEvent, added: Added): StoredEvent
export function storableEvent(e: IncomingEvent, added?: Added) {
  // A transaction is stored under its transaction id and its maker (transactionKey), so the store
  // keeps one per maker and order as it keeps one of a re-sent event.
  const event: Partial<StoredEvent> = { id: e.type == 'transaction' ? transactionKey(e, added?.verdict) : e.id, type: e.type, ts: e.ts }
  if (added) event.time = added.time
  event.anonymousId = e.anonymousId
  if (e.personId !== undefined) event.personId = e.personId
  if (e.name !== undefined) event.name = e.name
  if (e.props !== undefined) event.props = e.props
  if (e.page !== undefined) {
    const page: IncomingEvent['page'] = {}
    if (e.page.url !== undefined) page.url = e.page.url
    if (e.page.title !== undefined) page.title = e.page.title
    if (e.page.referrer !== undefined) page.referrer = e.page.referrer
    event.page = page
  }
  if (added) {
    event.project = added.project
    event.receivedAt = added.receivedAt
    event.verdict = added.verdict
    if (added.ip) event.ip = added.ip
    if (added.device) event.device = added.device
  }
  return event
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

export function verdictOf(project: ProjectConfig, e: IncomingEvent, tokens?: ReadonlyMap<string, JwtResult>): Verdict {
  if (e.personId === undefined) return 'anonymous'
  if (project.secureMode == 'off') return 'unchecked'
  if (e.signature === undefined) return 'missing_signature'
  if (project.scheme == 'jwt') {
    const proof = tokens?.get(e.signature)
    if (!proof) return 'bad_signature'
    return 'reason' in proof ? proof.reason : proof.person === e.personId ? 'verified' : 'person_mismatch'
  }
  if (project.scheme == 'token') {
    const check = verifyVerificationToken(project.secrets as string[], e.personId, e.signature, {
      maxAgeSeconds: project.maxAgeSeconds ?? DAY,
    })
    return check.ok ? 'verified' : check.reason
  }
  return verifySignature(project.secrets, e.personId, e.signature, project.scheme) ? 'verified' : 'bad_signature'
}

type Refused = Extract<Verdict, RejectionReason>
const REFUSALS: readonly Refused[] = ['missing_signature', 'bad_signature', 'expired_signature', 'wrong_audience', 'wrong_issuer', 'unknown_key', 'person_mismatch']
export const REFUSED: ReadonlySet<Verdict> = new Set(REFUSALS)


/**
 * The most characters of JSON an anonymous event's props may have (an identified one's: LIMITS.props):
 * nobody answers for an anonymous event, and a sender may make up any number of them.
 */
export const MAX_ANONYMOUS_PROPS = 4096

/** An event the collector would not store, with why. */
export interface RejectedEvent extends Rejection {
  /** The event as sent, without its signature, when it was readable. */
  event?: Omit<IncomingEvent, 'signature'>
}

export interface CheckedBatch {
  /** The project token, when the batch names a configured project. */
  project?: string
  /** Events that pass Secure Mode, ready to store: signature removed, project, receivedAt, verdict, ip added. */
  accepted: StoredEvent[]
  rejected: RejectedEvent[]
}

/**
 * Verifies one parsed request body against the projects' Secure Mode, without storing anything.
 * Throws HttpError (400, 413) for a body that is not a v1 batch.
 */
export function checkBatch(
  projects: Record<string, ProjectConfig>,
  batch: unknown,
  {
    receivedAt = Date.now(),
    ip,
    device,
    maxEvents = LIMITS.events,
    maxEventAgeMs = EVENT_AGE.past,
    maxAnonymousProps = MAX_ANONYMOUS_PROPS,
    tokens,
  }: {
    receivedAt?: number
    ip?: string
    /** The request's browser, system and device type (device.ts's label). */
    device?: string
    maxEvents?: number
    maxEventAgeMs?: number
    maxAnonymousProps?: number
    /** A jwt project's tokens, verified beforehand (verifyBatchTokens): checkBatch does no I/O. */
    tokens?: ReadonlyMap<string, JwtResult>
  } = {},
): CheckedBatch {
  if (!isObject(batch) || batch.v !== 1 || typeof batch.project != 'string' || !Array.isArray(batch.events))
    throw new HttpError(400, 'expected {"v": 1, "project": "<token>", "events": [...]}')
  if (batch.events.length > maxEvents) throw new HttpError(413, `more than ${maxEvents} events in one request`)
  if (ip && batch.anonymizeIP === true) ip = anonymizeIp(ip)
  // The device's clock as the request left. With it, an event's age is its age by that same clock,
  // and its time by the collector's is receivedAt less that age (Segment's, Snowplow's and PostHog's
  // formula): a device whose clock is hours or days off is neither refused nor misdated. An event
  // dated after its own request left is dated at receipt. Without a numeric sentAt, ts is taken as
  // it is, against the collector's clock.
  const sentAt = Number.isFinite(batch.sentAt) ? (batch.sentAt as number) : undefined
  const token = batch.project
  const project = Object.prototype.hasOwnProperty.call(projects, token) ? projects[token] : undefined
  const accepted: StoredEvent[] = []
  const rejected: RejectedEvent[] = []
  for (const item of batch.events as unknown[]) {
    const id = isObject(item) && typeof item.id == 'string' ? item.id.slice(0, LIMITS.id) : ''
    let problem: RejectionReason | undefined = project ? eventProblem(item) : 'unknown_project'
    // A backlog older than the window is refused. (It bounds replay only as far as the sender tells
    // the truth about both clocks: docs/security.md.)
    const ts = (item as IncomingEvent).ts
    const age = sentAt === undefined ? receivedAt - ts : sentAt - ts
    if (!problem && (age > maxEventAgeMs || (sentAt === undefined && ts > receivedAt + EVENT_AGE.ahead))) problem = 'stale_event'
    if (problem) {
      rejected.push({ id, reason: problem })
      continue
    }
    const verdict = verdictOf(project!, item as IncomingEvent, tokens)
    if (project!.secureMode == 'enforce' && REFUSED.has(verdict)) rejected.push({ id, reason: verdict as Refused, event: storableEvent(item as IncomingEvent) })
    else if (verdict == 'anonymous' && (item as IncomingEvent).props !== undefined && jsonLength((item as IncomingEvent).props) > maxAnonymousProps)
      rejected.push({ id, reason: 'too_large', event: storableEvent(item as IncomingEvent) })
    else {
      const time = sentAt === undefined ? ts : receivedAt - Math.max(0, age)
      const stored = storableEvent(item as IncomingEvent, { time, project: token, receivedAt, verdict, ip, device })
      const json = JSON.stringify(stored)
      if (json.length > LIMITS.event) rejected.push({ id, reason: 'too_large' })
      else {
        accepted.push(stored)
        storedJson.set(stored, json)
        if (stored.id != id) wireIds.set(stored, id)
      }
    }
  }
  return { project: project && token, accepted, rejected }
}

/** Throws a clear error for a project configuration that cannot work. */
export function checkProjects(projects: Record<string, ProjectConfig>): void {
  if (!isObject(projects)) throw new Error('signet: projects must be an object of project token → settings')
  for (const [token, p] of Object.entries(projects)) {
    if (!isObject(p)) throw new Error(`signet: project ${token}: settings must be an object`)
    if (!['off', 'report', 'enforce'].includes(p.secureMode))
      throw new Error(`signet: project ${token}: secureMode must be off, report or enforce`)
    if (!Array.isArray(p.secrets)) throw new Error(`signet: project ${token}: secrets must be an array (empty with Secure Mode off)`)
    if (p.secureMode != 'off' && !p.secrets.length && p.scheme != 'jwt')
      throw new Error(`signet: project ${token}: Secure Mode ${p.secureMode} needs at least one secret`)
    // An unusable secret would answer every signed batch 500, and the tracker would retry for ever.
    p.secrets.forEach((secret, i) => {
      if (!(typeof secret == 'string' ? secret : Buffer.isBuffer(secret) && secret.length))
        throw new Error(`signet: project ${token}: secret ${i + 1} of ${p.secrets.length} is ${typeof secret == 'string' ? 'empty' : 'not a string or Buffer'}`)
    })
    if (p.scheme !== undefined && !['hex', 'base64', 'token', 'jwt'].includes(p.scheme))
      throw new Error(`signet: project ${token}: scheme must be hex, base64, token or jwt`)
    if (p.jwt !== undefined && p.scheme != 'jwt') throw new Error(`signet: project ${token}: jwt options are for scheme jwt`)
    if (p.scheme == 'jwt') checkJwtOptions(token, p.jwt || {}, p.secrets)
    if (p.maxAgeSeconds !== undefined && !(typeof p.maxAgeSeconds == 'number' && p.maxAgeSeconds > 0 && p.maxAgeSeconds < Infinity))
      throw new Error(`signet: project ${token}: maxAgeSeconds must be a positive number of seconds`)
    if (p.scheme == 'token') for (const key of p.secrets) parseVerificationKey(String(key))
  }
}
