// Verifications per second of the Node helpers against a bare crypto.createHmac loop, in one process.
// Each figure is the median of 15 rounds; the ratio compares helper and bare loop of the same scheme.
import { createHmac } from 'node:crypto'
import { personSignature, userSignature, verificationToken, verifySignature, verifyVerificationToken } from '../dist/server.mjs'

const SECRET = 'bench-secret-0123456789abcdef'
const KEY = Buffer.from('0f8e2c1a7b3d4e5f9a0b1c2d3e4f5a6b;9b8a7c6d5e4f3a2b1c0de9f8a7b6c5d4e3f2').toString('base64')
const IDS = Array.from({ length: 1024 }, (_, i) => `user-${i}@example.com`)
const ROUNDS = 15
const PER_ROUND = 40_000

// Helper and bare loop run in alternating rounds, so a slow stretch of the machine (2 shared cores)
// slows both; the ratio is the median of the per-round ratios.
const rate = (fn) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < PER_ROUND; i++) fn(i)
  return PER_ROUND / (Number(process.hrtime.bigint() - start) / 1e9)
}
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1]
const compare = (helper, bare) => {
  rate(helper)
  rate(bare)
  const rounds = Array.from({ length: ROUNDS }, () => [rate(helper), rate(bare)])
  return { helper: median(rounds.map((r) => r[0])), bare: median(rounds.map((r) => r[1])), ratio: median(rounds.map(([h, b]) => h / b)) }
}

const hex = IDS.map((id) => personSignature(SECRET, id))
const b64 = IDS.map((id) => userSignature(SECRET, id))
const tokens = IDS.map((id) => verificationToken(KEY, id))
const keyBytes = Buffer.from(Buffer.from(KEY, 'base64').toString().split(';')[1], 'hex')
let sink = 0

const rows = [
  ['hex', (i) => (sink += verifySignature(SECRET, IDS[i & 1023], hex[i & 1023])), (i) => (sink += createHmac('sha256', SECRET).update(IDS[i & 1023]).digest('hex') == hex[i & 1023])],
  ['base64', (i) => (sink += verifySignature(SECRET, IDS[i & 1023], b64[i & 1023])), (i) => (sink += createHmac('sha256', SECRET).update(IDS[i & 1023]).digest('base64') == b64[i & 1023])],
  ['token', (i) => (sink += verifyVerificationToken(KEY, IDS[i & 1023], tokens[i & 1023], { maxAgeSeconds: 3600 }).ok), (i) => (sink += createHmac('sha256', keyBytes).update(IDS[i & 1023]).update(Buffer.alloc(4)).digest().length == 32)],
]

console.log('| scheme | helper verifications/s | bare createHmac loop/s | ratio |')
console.log('| --- | --- | --- | --- |')
for (const [name, helper, bare] of rows) {
  const r = compare(helper, bare)
  console.log(`| ${name} | ${Math.round(r.helper).toLocaleString('en')} | ${Math.round(r.bare).toLocaleString('en')} | ${r.ratio.toFixed(2)} |`)
}
if (!sink) console.log('')
