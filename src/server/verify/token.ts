import { createHmac } from 'node:crypto'
import { malformedId } from '../../protocol'
import { checkId } from './signature'

// GetintheLoop-style verification tokens: base64(hmacId ‖ timestamp ‖ HMAC-SHA256(hmacSecret, userId ‖ timestamp)),
// where the Verification Key is base64 of "hmacId;hmacSecret", both hex (dashes allowed), and the
// timestamp is the issue time in unix seconds as big-endian bytes.

interface Key {
  id: Buffer
  secret: Buffer
  /** Views of the timestamp in `scratch`, by its length (1 to 6 bytes), made once each. */
  views?: Uint8Array[]
}

const HEX_PART = /^[0-9a-fA-F-]+$/

const parsed = new Map<string, Key>()

// Keys come from configuration, so each is decoded once (bounded, like the HMAC key cache).
const keyOf = (verificationKey: string): Key => {
  let key = parsed.get(verificationKey)
  if (!key) {
    key = parseVerificationKey(verificationKey)
    if (parsed.size < 1000) parsed.set(verificationKey, key)
  }
  return key
}

/** Decodes a Verification Key; throws a clear error for one that is not base64 of "hmacId;hmacSecret". */
export function parseVerificationKey(verificationKey: string): Key {
  const decoded = Buffer.from(String(verificationKey), 'base64').toString('utf8')
  const parts = decoded.split(';')
  const hex = parts.map((p) => p.replace(/-/g, ''))
  if (parts.length != 2 || !parts.every((p) => HEX_PART.test(p)) || !hex.every((h) => h.length && h.length % 2 == 0))
    throw new TypeError('signet: a Verification Key is base64 of "hmacId;hmacSecret", both in hex')
  return { id: Buffer.from(hex[0], 'hex'), secret: Buffer.from(hex[1], 'hex') }
}

// The seed writes the seconds as hex and decodes that as bytes; from 1978 to 2106 that is 4 bytes.
// Padding to an even number of digits gives the same bytes then, and whole bytes at any other time.
const timestampBytes = (seconds: number) => {
  const hex = seconds.toString(16)
  return Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex')
}

const digest = (key: Key, userId: string, timestamp: Uint8Array) =>
  createHmac('sha256', key.secret).update(userId).update(timestamp).digest()

/** Makes a verification token for userId, issued at `now` (ms since the epoch). */
export function verificationToken(verificationKey: string, userId: string | number, now: number = Date.now()): string {
  const key = keyOf(verificationKey)
  checkId(userId)
  const timestamp = timestampBytes(Math.round(now / 1000))
  return Buffer.concat([key.id, timestamp, digest(key, String(userId), timestamp)]).toString('base64')
}

export type TokenCheck =
  | { ok: true; issuedAt: number }
  | { ok: false; reason: 'bad_signature' | 'expired_signature' }

export interface TokenOptions {
  /** Oldest accepted token, in seconds. */
  maxAgeSeconds: number
  /** How far in the future an issue time may be (clock skew), in seconds. Default 60. */
  maxSkewSeconds?: number
  now?: number
}

const BAD: TokenCheck = { ok: false, reason: 'bad_signature' }

// Compares `part` with the bytes of `token` from `at` in time that does not depend on where they
// differ (a loop here is cheaper than a call into C++ for a few dozen bytes).
const same = (part: Uint8Array, token: Uint8Array, at: number): boolean => {
  let diff = 0
  for (let i = 0; i < part.length; i++) diff |= part[i] ^ token[at + i]
  return diff === 0
}

/**
 * Checks a verification token for userId in constant time. Anything malformed is a bad_signature;
 * a genuine token issued more than maxAgeSeconds ago, or in the future beyond the skew, is expired_signature.
 * Never throws for a bad token (a bad key is a configuration error and does throw).
 */
export function verifyVerificationToken(
  verificationKey: string | readonly string[],
  userId: string | number,
  token: unknown,
  { maxAgeSeconds, maxSkewSeconds = 60, now = Date.now() }: TokenOptions,
): TokenCheck {
  if (typeof token != 'string' || token.length > 1024 || userId == null || malformedId(String(userId))) return BAD
  // Decoded into one reused buffer (the check is synchronous): nothing to allocate or collect.
  const length = decodeBase64(token, scratch)
  if (length < 0) return BAD
  const message = String(userId)
  if (!Array.isArray(verificationKey)) return check(keyOf(verificationKey as string), message, length, now / 1000, maxAgeSeconds, maxSkewSeconds)
  for (const k of verificationKey) {
    const result = check(keyOf(k), message, length, now / 1000, maxAgeSeconds, maxSkewSeconds)
    if (result != BAD) return result
  }
  return BAD
}

// A 1,024-character token decodes to at most 768 bytes.
const scratch = Buffer.alloc(768)

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
// Every UTF-16 code unit to its 6 bits, 255 for anything outside the alphabet.
const VALUE = new Uint8Array(65536).fill(255)
for (let i = 0; i < 64; i++) VALUE[ALPHABET.charCodeAt(i)] = i

/**
 * Decodes canonical padded base64 into `out` and returns the number of bytes, or -1 for anything else
 * (base64url, whitespace, misplaced padding). In JavaScript: for a token's few dozen characters this
 * is cheaper than Node's decoder, which also skips junk silently and so needs checking after.
 */
function decodeBase64(text: string, out: Uint8Array): number {
  const n = text.length
  if (!n || n % 4 || (n >> 2) * 3 > out.length) return -1
  const pad = text.charCodeAt(n - 1) == 61 ? (text.charCodeAt(n - 2) == 61 ? 2 : 1) : 0
  let bad = 0
  let o = 0
  let i = 0
  for (; i < n - 4; i += 4) {
    const a = VALUE[text.charCodeAt(i)], b = VALUE[text.charCodeAt(i + 1)], c = VALUE[text.charCodeAt(i + 2)], d = VALUE[text.charCodeAt(i + 3)]
    bad |= a | b | c | d
    const q = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = q >> 16
    out[o++] = q >> 8
    out[o++] = q
  }
  // The last quad may end in one or two '='.
  const a = VALUE[text.charCodeAt(i)], b = VALUE[text.charCodeAt(i + 1)]
  const c = pad > 1 ? 0 : VALUE[text.charCodeAt(i + 2)], d = pad ? 0 : VALUE[text.charCodeAt(i + 3)]
  bad |= a | b | c | d
  // Canonical only: the bits after the last byte are zero, or one token would have several spellings.
  if (pad) bad |= (pad > 1 ? b & 15 : c & 3) << 6
  const q = (a << 18) | (b << 12) | (c << 6) | d
  out[o++] = q >> 16
  if (pad < 2) out[o++] = q >> 8
  if (!pad) out[o++] = q
  return bad > 63 ? -1 : o
}

/** Checks the token decoded into `scratch` (length bytes) against one key. */
function check(key: Key, message: string, length: number, nowSeconds: number, maxAge: number, maxSkew: number): TokenCheck {
  const idLength = key.id.length
  const tsLength = length - idLength - 32
  // A timestamp has no leading zero byte: the digest covers id ‖ timestamp with no separator, so a
  // zero byte moved between them would make a token for "id\0" one for "id" too.
  if (tsLength < 1 || tsLength > 6 || !scratch[idLength] || !same(key.id, scratch, 0)) return BAD
  const views = (key.views = key.views || [])
  const timestamp = (views[tsLength] = views[tsLength] || new Uint8Array(scratch.buffer, scratch.byteOffset + idLength, tsLength))
  if (!same(digest(key, message, timestamp), scratch, length - 32)) return BAD
  const issuedAt = scratch.readUIntBE(idLength, tsLength)
  const age = nowSeconds - issuedAt
  return age > maxAge || age < -maxSkew ? { ok: false, reason: 'expired_signature' } : { ok: true, issuedAt }
}
