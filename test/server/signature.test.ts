// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { personSignature, userSignature, verifySignature } from '../../src/server/verify/signature'

// Published HMAC-SHA256 example (key "key", the quick brown fox), so the helpers are checked against
// an answer computed elsewhere rather than against node:crypto itself.
const FOX = 'The quick brown fox jumps over the lazy dog'
const FOX_HEX = 'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8'

describe('signing', () => {
  it('makes the hex Person Signature and the base64 userSignature of the same HMAC', () => {
    expect(personSignature('key', FOX)).toBe(FOX_HEX)
    expect(userSignature('key', FOX)).toBe(Buffer.from(FOX_HEX, 'hex').toString('base64'))
  })

  it('hashes String(id) as UTF-8', () => {
    expect(personSignature('s', 123456)).toBe(personSignature('s', '123456'))
    // Computed with Python's hmac over 'zoë@例え.jp'.encode('utf-8').
    expect(personSignature('s', 'zoë@例え.jp')).toBe('307643be840be05d4b3ac30909251b7dfb825bb97f0597909140881bc2c728c3')
  })

  it('refuses to sign without a secret or id, with a clear error', () => {
    expect(() => personSignature('', 'a')).toThrow(/non-empty secret/)
    expect(() => userSignature('s', undefined as unknown as string)).toThrow(/person id/)
  })
})

describe('verifySignature', () => {
  const secret = 'secure-mode-secret'
  const hex = personSignature(secret, 'user-1')
  const b64 = userSignature(secret, 'user-1')

  it('accepts hex (either case) and base64 signatures made for that id', () => {
    expect(verifySignature(secret, 'user-1', hex)).toBe(true)
    expect(verifySignature(secret, 'user-1', hex.toUpperCase())).toBe(true)
    expect(verifySignature(secret, 'user-1', b64)).toBe(true)
  })

  it('refuses a signature made for another id or with another secret', () => {
    expect(verifySignature(secret, 'user-2', hex)).toBe(false)
    expect(verifySignature('other', 'user-1', b64)).toBe(false)
  })

  it('returns false, never throws, for malformed input', () => {
    const bad: unknown[] = [
      undefined,
      null,
      42,
      {},
      '',
      hex.slice(1),
      hex + '0',
      hex.slice(0, 63) + 'g',
      b64.slice(0, -1),
      b64.replace('=', ''),
      b64.slice(0, 42) + '!=',
      'x'.repeat(10_000),
      hex.slice(0, 44),
    ]
    for (const s of bad) expect(verifySignature(secret, 'user-1', s)).toBe(false)
    expect(verifySignature(secret, undefined as unknown as string, hex)).toBe(false)
  })

  it('refuses a non-canonical base64 spelling of the right bytes', () => {
    // The last character of 32-byte base64 carries 2 unused bits; flipping them decodes to the same bytes.
    const last = b64[42]
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    const twin = b64.slice(0, 42) + alphabet[alphabet.indexOf(last) ^ 1] + '='
    expect(Buffer.from(twin, 'base64').equals(Buffer.from(b64, 'base64'))).toBe(true)
    expect(verifySignature(secret, 'user-1', twin)).toBe(false)
  })

  it('accepts any of several secrets, for rotation', () => {
    expect(verifySignature(['new-secret', secret], 'user-1', hex)).toBe(true)
    expect(verifySignature(['new-secret'], 'user-1', hex)).toBe(false)
  })
})
