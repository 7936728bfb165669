import { LIMITS, malformedId } from './protocol'
import { snapshot } from './payload'
import { own } from './storage'

export type Props = Record<string, unknown>

// What is persisted (storage key signet, or signet_<name>): the anonymous id, and the person id with
// the signature given for it, their properties, until when (ms) they last, the record's version, and
// whether its person came by a cookie. One record, so the pair is never written apart.
export interface IdentityState {
  a: string
  p?: string
  s?: string
  r?: Props
  x?: number
  t: number
  /** Brought by the cookie of cookieDomain, from a subdomain. */
  c?: 1
}

export interface Person {
  id: string
  signature?: string
  props: Props
}

export const isString = (v: unknown): v is string => typeof v == 'string'

/** A signature as the collector takes it: a non-empty string within the limit. */
export const isSignature = (v: unknown): v is string => isString(v) && !!v && v.length <= LIMITS.signature

const NEEDS_ID = 'needs {id}, {userId} or {email}'

/**
 * The stored record (read with no prototype), if it is one Signet could have written, its version a
 * number (0 in an earlier version's record). Whether its person still lasts is the caller's to say.
 */
export const validState = (s: any): IdentityState | undefined =>
  s && isString(s.a) && [s.p, s.s].every((v) => v === undefined || isString(v)) && (s.t = +s.t || 0) >= 0 ? s : undefined

// Accepts GoSquared's {id, email, ...}, Help Scout Beacon's {name, email, signature} and
// Engagespot's {userId, userSignature}. Returns a reason string when the input is unusable.
// Everything but the id and signature keys becomes person properties, copied (snapshot): keys set to
// undefined are left out of the copy.
export function parsePerson(input: unknown): Person | string {
  if (!input || typeof input != 'object') return NEEDS_ID
  const { id, userId, email, signature, userSignature } = own(input as Props)
  const raw = id != null ? id : userId != null ? userId : email
  const sig = signature != null ? signature : userSignature
  if (!((isString(raw) && raw) || (typeof raw == 'number' && isFinite(raw)))) return NEEDS_ID
  const personId = String(raw)
  if (personId.length > LIMITS.personId) return `id over ${LIMITS.personId} characters`
  if (malformedId(personId)) return 'id has a control character or lone surrogate'
  if (sig != null && !isSignature(sig)) return 'bad signature'
  const props = snapshot(Object.assign({}, input, { id: undefined, userId: undefined, signature: undefined, userSignature: undefined }))
  return { id: personId, signature: sig as string | undefined, props: props || {} }
}
