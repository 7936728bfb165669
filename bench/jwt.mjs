// npm run bench:jwt: what the jwt scheme costs the collector. Verifications per second of distinct
// tokens (none from the cache) for HS256 and ES256 against today's hex HMAC in the same run, a
// cached token, and the memory of a flood of 100,000 distinct forged tokens. Writes bench/jwt.md.
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createJwtVerifier, personSignature, verifySignature } from '../dist/server.mjs'
import { progress } from './progress.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const N = Number(process.env.BENCH_N || 5000)
const FLOOD = 100_000
const SECRET = randomBytes(32).toString('hex')
const now = Math.floor(Date.now() / 1000)
const fmt = (n) => Math.round(n).toLocaleString('en-US')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]

const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }
const hmacKey = new TextEncoder().encode(SECRET)
const people = Array.from({ length: N }, (_, i) => `person-${i}@example.com`)
const hsTokens = await Promise.all(people.map((p) => new SignJWT({ sub: p, iat: now, exp: now + 3600 }).setProtectedHeader({ alg: 'HS256' }).sign(hmacKey)))
const esTokens = await Promise.all(
  people.map((p) => new SignJWT({ sub: p, iss: 'https://idp.test/', aud: 'site', iat: now, exp: now + 3600 }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey)),
)
const hexSignatures = people.map((p) => personSignature(SECRET, p))

/** Verifications per second over the list, each once. */
async function rate(fn, list) {
  const started = performance.now()
  for (let i = 0; i < list.length; i++) await fn(list[i], i)
  return list.length / ((performance.now() - started) / 1000)
}

const rounds = { hex: [], hs256: [], es256: [], cached: [] }
// Ticked between the timed loops, never inside them.
const steps = progress('jwt', 6)
for (let round = 0; round < 5; round++) {
  rounds.hex.push(await rate((s, i) => verifySignature([SECRET], people[i], s), hexSignatures))
  // A new verifier each round: nothing cached from the round before.
  const hs = createJwtVerifier({}, [SECRET])
  rounds.hs256.push(await rate((t) => hs.verify(t), hsTokens))
  const es = createJwtVerifier({ keys: [jwk], issuer: 'https://idp.test/', audience: 'site' }, [])
  rounds.es256.push(await rate((t) => es.verify(t), esTokens))
  // The same token again, as the 100 events of a batch carry it.
  rounds.cached.push(await rate((t) => es.verify(t), Array(N).fill(esTokens[0])))
  steps.tick(`round ${round + 1}`)
}
const r = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]))
const ratio = (k) => median(rounds[k].map((x, i) => x / rounds.hex[i]))

// A flood of distinct forged tokens, well-formed, each verified once and refused.
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const flood = createJwtVerifier({ keys: [jwk], issuer: 'https://idp.test/', audience: 'site' }, [])
globalThis.gc?.()
const rssBefore = process.memoryUsage().rss
let started = performance.now()
const reasons = new Map()
for (let i = 0; i < FLOOD; i++) {
  const token = `${b64({ alg: 'ES256', kid: 'k1' })}.${b64({ sub: `victim-${i}`, iss: 'https://idp.test/', aud: 'site', iat: now, exp: now + 3600 })}.${randomBytes(64).toString('base64url')}`
  const result = await flood.verify(token)
  reasons.set(result.reason, (reasons.get(result.reason) || 0) + 1)
}
const floodRate = FLOOD / ((performance.now() - started) / 1000)
steps.tick('flood')
steps.stop()
globalThis.gc?.()
const rssAfter = process.memoryUsage().rss

const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] || 'unknown CPU'
const lines = [
  '# What the jwt scheme costs',
  '',
  `\`npm run bench:jwt\`, ${new Date().toISOString().slice(0, 10)}: ${cpu}, Node ${process.version}, jose ${JSON.parse(readFileSync(join(ROOT, 'node_modules/jose/package.json'), 'utf8')).version}.`,
  `${fmt(N)} distinct people's proofs, each verified once, in one thread, 5 rounds taking turns; medians, ratios to the hex HMAC as the median of the per-round ratios.`,
  '',
  '| proof | verifications/s | ratio to hex |',
  '| --- | --- | --- |',
  `| hex HMAC-SHA256 of the person id (today's scheme) | ${fmt(r.hex)} | 1.00 |`,
  `| HS256 JWT, distinct tokens | ${fmt(r.hs256)} | ${ratio('hs256').toFixed(2)} |`,
  `| ES256 JWT (an identity provider's), distinct tokens | ${fmt(r.es256)} | ${ratio('es256').toFixed(2)} |`,
  `| ES256 JWT, the same token again (cached until its exp) | ${fmt(r.cached)} | ${ratio('cached').toFixed(2)} |`,
  '',
  `A batch of 100 events carrying one token costs one verification. A flood of ${fmt(FLOOD)} distinct forged ES256 tokens (well-formed, bad signatures):`,
  `${fmt(floodRate)} refused per second (${[...reasons].map(([k, n]) => `${fmt(n)} ${k}`).join(', ')}), memory ${fmt(rssBefore / 2 ** 20)} → ${fmt(rssAfter / 2 ** 20)} MB RSS,`,
  `${fmt(flood.size())} tokens cached (the cache keeps at most 10,000 tokens and 4,000,000 characters).`,
  '',
]
writeFileSync(join(ROOT, 'bench/jwt.md'), lines.join('\n'))
console.log(lines.join('\n'))
