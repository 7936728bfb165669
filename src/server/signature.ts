import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'

export type Secret = string | Buffer

export type Encoding = 'hex' | 'base64'

const mac = (secret: Secret, id: unknown): Buffer => {
  if (id == null) throw new TypeError('signet: a person id is required')
  return createHmac('sha256', keyOf(secret)).update(String(id), 'utf8').digest()
}

/** Hex HMAC-SHA256 of String(id): GoSquared's Person Signature and Help Scout Beacon's signature. */
export const personSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('hex')

/** Base64 HMAC-SHA256 of String(id): Engagespot's userSignature. */
export const userSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('base64')

// Searching for one bad character is cheaper than matching all 64 good ones.
const NOT_HEX = /[^0-9a-fA-F]/
const BASE64 = /^[A-Za-z0-9+/]{43}=$/

// Secrets become key objects once: a string key is otherwise re-encoded on every HMAC. Bounded, so a
// caller passing ever new secrets cannot grow it without limit.
const keys = new Map<Secret, KeyObject>()
const keyOf = (secret: Secret): KeyObject => {
  let key = keys.get(secret)
  if (!key) {
    if (!(typeof secret == 'string' ? secret : Buffer.isBuffer(secret) && secret.length))
      throw new TypeError('signet: a non-empty secret is required to sign or verify a person id')
    key = createSecretKey(typeof secret == 'string' ? Buffer.from(secret, 'utf8') : secret)
    if (keys.size < 1000) keys.set(secret, key)
  }
  return key
}

/**
 * Compares a computed digest with a given one in time that depends only on their lengths.
 * fold = 32 makes the given text's letters lowercase (hex may come in either case).
 */
const same = (digest: string, given: string, fold: number): boolean => {
  let diff = digest.length ^ given.length
  for (let i = 0; i < given.length; i++) diff |= digest.charCodeAt(i) ^ (given.charCodeAt(i) | fold)
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
  if (typeof signature != 'string' || id == null) return false
  const form: Encoding | undefined =
    encoding != 'base64' && signature.length == 64 && !NOT_HEX.test(signature)
      ? 'hex'
      : encoding != 'hex' && BASE64.test(signature)
        ? 'base64'
        : undefined
  if (!form) return false
  // A digest written as text is compared as text: cheaper than decoding, and canonical base64 only.
  const message = String(id)
  const fold = form == 'hex' ? 32 : 0
  const check = (s: Secret) => same(createHmac('sha256', keyOf(s)).update(message, 'utf8').digest(form), signature, fold)
  if (!Array.isArray(secret)) return check(secret as Secret)
  let ok = false
  for (const s of secret) ok = check(s) || ok
  return ok
}
