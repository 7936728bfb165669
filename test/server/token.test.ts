// @vitest-environment node
import { execFileSync } from 'node:child_process'
import assert from 'node:assert'
import crypto from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { malformedId } from '../../src/protocol'
import { personSignature, userSignature, verifySignature } from '../../src/server/verify/signature'
import { parseVerificationKey, verificationToken, verifyVerificationToken } from '../../src/server/verify/token'

const load = (name: string) => JSON.parse(readFileSync(`test/vectors/${name}`, 'utf8')).vectors
const hex: { secret: string; id: string; signature: string }[] = load('hex.json')
const b64: typeof hex = load('base64.json')
const tokens: { key: string; userId: string; now: number; token: string }[] = load('token.json')

// GetintheLoop's published example (seed 004), unchanged but for taking `now` instead of reading the clock.
const seedComputeSignature = (secret: string, userId: string, now: number) => {
  const secretDecoded = Buffer.from(secret, 'base64').toString('utf8')
  assert(/^[^;]+;[^;]+$/g.test(secretDecoded))
  const [hmacId, hmacSecret] = secretDecoded.split(';').map((e) => Buffer.from(e.replace(/-/g, ''), 'hex'))
  const timestamp = Buffer.from(Math.round(now / 1000).toString(16), 'hex')
  const hmacDigest = crypto.createHmac('sha256', hmacSecret).update(userId).update(timestamp).digest()
  return Buffer.concat([hmacId, timestamp, hmacDigest]).toString('base64')
}

describe('published test vectors', () => {
  it('hex and base64 signatures match, and verify', () => {
    expect(hex.length).toBeGreaterThan(10)
    for (const v of hex) {
      if (malformedId(v.id)) {
        // A control character (a tab here) is refused on both sides since ids must mean one thing.
        expect(() => personSignature(v.secret, v.id)).toThrow('signet: a person id must be well-formed Unicode without control characters')
        expect(verifySignature(v.secret, v.id, v.signature, 'hex')).toBe(false)
        continue
      }
      expect(personSignature(v.secret, v.id)).toBe(v.signature)
      expect(verifySignature(v.secret, v.id, v.signature, 'hex')).toBe(true)
      expect(verifySignature(v.secret, v.id, v.signature, 'base64')).toBe(false)
    }
    for (const v of b64) {
      if (malformedId(v.id)) {
        expect(() => userSignature(v.secret, v.id)).toThrow(/well-formed/)
        expect(verifySignature(v.secret, v.id, v.signature, 'base64')).toBe(false)
        continue
      }
      expect(userSignature(v.secret, v.id)).toBe(v.signature)
      expect(verifySignature(v.secret, v.id, v.signature, 'base64')).toBe(true)
      expect(verifySignature(v.secret, v.id, v.signature, 'hex')).toBe(false)
    }
  })

  it('verification tokens match the seed’s own code and ours, and verify at their issue time', () => {
    expect(tokens.length).toBeGreaterThan(10)
    for (const v of tokens) {
      expect(verificationToken(v.key, v.userId, v.now)).toBe(v.token)
      // The seed writes seconds as hex and decodes that; an odd digit count (before 1978, after 2106)
      // loses a nibble there, where we keep whole big-endian bytes. Every other time agrees.
      if (Math.round(v.now / 1000).toString(16).length % 2 == 0) expect(seedComputeSignature(v.key, v.userId, v.now)).toBe(v.token)
      else expect(seedComputeSignature(v.key, v.userId, v.now)).not.toBe(v.token)
      expect(verifyVerificationToken(v.key, v.userId, v.token, { maxAgeSeconds: 60, now: v.now })).toEqual({
        ok: true,
        issuedAt: Math.round(v.now / 1000),
      })
    }
  })

  it('are what the independent Python generator makes', () => {
    // python3 is part of Debian and of the CI machine; the check is the generator's own --check.
    expect(execFileSync('python3', ['test/vectors/generate.py', '--check'], { encoding: 'utf8' })).toContain('vectors match')
  })
})

describe('verifyVerificationToken', () => {
  const key = tokens[0].key
  const now = 1_795_263_955_000

  it('rejects an expired or future-dated token as expired_signature', () => {
    const token = verificationToken(key, 'u1', now)
    expect(verifyVerificationToken(key, 'u1', token, { maxAgeSeconds: 300, now: now + 299_000 }).ok).toBe(true)
    expect(verifyVerificationToken(key, 'u1', token, { maxAgeSeconds: 300, now: now + 301_000 })).toEqual({ ok: false, reason: 'expired_signature' })
    expect(verifyVerificationToken(key, 'u1', token, { maxAgeSeconds: 300, now: now - 120_000 })).toEqual({ ok: false, reason: 'expired_signature' })
  })

  it('rejects another user’s token, another key’s token and malformed input as bad_signature, without throwing', () => {
    const token = verificationToken(key, 'u1', now)
    const bad = { ok: false, reason: 'bad_signature' }
    expect(verifyVerificationToken(key, 'u2', token, { maxAgeSeconds: 300, now })).toEqual(bad)
    expect(verifyVerificationToken(tokens[tokens.length - 1].key, 'u1', token, { maxAgeSeconds: 300, now })).toEqual(bad)
    for (const junk of [undefined, 7, '', 'not base64!', token.slice(4), 'QUJD', 'A'.repeat(5000), personSignature('s', 'u1'), ' ' + token.slice(1), token.slice(0, 8) + '\n' + token.slice(9), token.replace(/\+/g, '-').replace(/\//g, '_'), token.slice(0, 4) + '=' + token.slice(5), token.slice(0, 6) + '\u00e9' + token.slice(7), token.slice(1) + '='])
      expect(verifyVerificationToken(key, 'u1', junk, { maxAgeSeconds: 300, now })).toEqual(bad)
  })

  it('accepts tokens from any of several keys, for rotation', () => {
    const other = Buffer.from('beef;0011').toString('base64')
    const token = verificationToken(other, 'u1', now)
    expect(verifyVerificationToken([key, other], 'u1', token, { maxAgeSeconds: 300, now }).ok).toBe(true)
  })

  it('explains a malformed Verification Key', () => {
    for (const k of ['', Buffer.from('only-one-part').toString('base64'), Buffer.from('zz;11').toString('base64'), Buffer.from('abc;11').toString('base64')])
      expect(() => parseVerificationKey(k)).toThrow(/hmacId;hmacSecret/)
  })
})
