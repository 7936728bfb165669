import { createHmac, timingSafeEqual } from 'node:crypto'

export type Secret = string | Buffer

const mac = (secret: Secret, id: unknown): Buffer => {
  if (!(typeof secret == 'string' ? secret : Buffer.isBuffer(secret) && secret.length))
    throw new TypeError('signet: a non-empty secret is required to sign or verify a person id')
  if (id == null) throw new TypeError('signet: a person id is required')
  return createHmac('sha256', secret).update(String(id), 'utf8').digest()
}

/** Hex HMAC-SHA256 of String(id): GoSquared's Person Signature and Help Scout Beacon's signature. */
export const personSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('hex')

/** Base64 HMAC-SHA256 of String(id): Engagespot's userSignature. */
export const userSignature = (secret: Secret, id: string | number): string => mac(secret, id).toString('base64')

const HEX = /^[0-9a-fA-F]{64}$/
const BASE64 = /^[A-Za-z0-9+/]{43}=$/

// Only the two canonical encodings of 32 bytes get as far as the comparison; anything else is not a
// signature, so it is refused without touching the secret.
export type Encoding = 'hex' | 'base64'

export const decodeSignature = (signature: unknown, encoding?: Encoding): Buffer | undefined => {
  if (typeof signature != 'string') return
  if (encoding != 'base64' && HEX.test(signature)) return Buffer.from(signature, 'hex')
  if (encoding == 'hex' || !BASE64.test(signature)) return
  const bytes = Buffer.from(signature, 'base64')
  return bytes.toString('base64') == signature ? bytes : undefined
}

/**
 * True when signature is the hex or base64 HMAC-SHA256 of String(id) under one of the secrets
 * (only that encoding when one is given). Compared in constant time; malformed input returns false
 * and never throws.
 */
export function verifySignature(
  secret: Secret | readonly Secret[],
  id: string | number,
  signature: unknown,
  encoding?: Encoding,
): boolean {
  const given = decodeSignature(signature, encoding)
  if (!given || id == null) return false
  let ok = false
  for (const s of Array.isArray(secret) ? secret : [secret as Secret]) ok = timingSafeEqual(mac(s, id), given) || ok
  return ok
}
