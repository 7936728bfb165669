import { createHmac } from 'node:crypto'
import { malformedId } from '../../protocol'

export type Secret = string | Buffer

export type Encoding = 'hex' | 'base64'

/** Throws for an id that would not mean one thing (protocol.ts's malformedId): it is never signed. */
export const checkId = (id: unknown) => {
  if (id == null) throw new TypeError('signet: a person id is required')
  if (malformedId(String(id))) throw new TypeError('signet: a person id must be well-formed Unicode without control characters')
}

const mac = (secret: Secret, id: unknown): Buffer => {
  checkId(id)
  return createHmac('sha256', keyOf(secret)).update(String(id)).digest()
}

/** Hex HMAC-SHA256 of String(id): GoSquared's Person Signature and Help Scout Beacon's signature. */
export const personSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('hex')

/** Base64 HMAC-SHA256 of String(id): Engagespot's userSignature. */
export const userSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('base64')

// Secrets become bytes once: a string key is otherwise re-encoded on every HMAC (a Buffer key is
// also cheaper for createHmac than a KeyObject). Bounded, so a caller passing ever new secrets
// cannot grow it without limit.
const keys = new Map<Secret, Buffer>()
const keyOf = (secret: Secret): Buffer => {
  let key = keys.get(secret)
  if (!key) {
    if (!(typeof secret == 'string' ? secret : Buffer.isBuffer(secret) && secret.length))
      throw new TypeError('signet: a non-empty secret is required to sign or verify a person id')
    key = typeof secret == 'string' ? Buffer.from(secret, 'utf8') : secret
    if (keys.size < 1000) keys.set(secret, key)
  }
  return key
}

// Encoded length of a 32-byte digest.
const LENGTH = { hex: 64, base64: 44 }

/**
 * Compares a computed digest with a given text in time that does not depend on where they differ.
 * Any character outside the encoding cannot match. (A plain loop over two flat strings: folding
 * capitals inside it measured twice as slow as lowercasing hex first.)
 */
const same = (digest: string, given: string): boolean => {
  if (given.length != digest.length) return false
  let diff = 0
  for (let i = 0; i < digest.length; i++) diff |= digest.charCodeAt(i) ^ given.charCodeAt(i)
  return diff === 0
}

/**
 * True when signature is the hex or base64 HMAC-SHA256 of String(id) under one of the secrets
 * (only that encoding when one is given). Compared in constant time; malformed input returns false
 * and never throws. Only the two canonical encodings of 32 bytes get as far as the comparison.
 */
export function verifySignature(
  secret: Secret | readonly Secret[],
  id: string | number,
  signature: unknown,
  encoding?: Encoding,
): boolean {
  if (typeof signature != 'string' || id == null || malformedId(String(id))) return false
  // The length tells the encoding; a digest written as text is compared as text, which is cheaper
  // than decoding and admits only the canonical base64.
  const form: Encoding | undefined =
    signature.length == LENGTH.hex && encoding != 'base64' ? 'hex' : signature.length == LENGTH.base64 && encoding != 'hex' ? 'base64' : undefined
  if (!form) return false
  const message = String(id)
  // Hex may come in either case.
  const given = form == 'hex' ? signature.toLowerCase() : signature
  const check = (s: Secret) => same(createHmac('sha256', keyOf(s)).update(message).digest(form), given)
  if (!Array.isArray(secret)) return check(secret as Secret)
  let ok = false
  for (const s of secret) ok = check(s) || ok
  return ok
}
