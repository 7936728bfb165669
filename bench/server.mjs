// Verifications per second of the Node helpers against a bare crypto.createHmac loop, in one process,
// written to bench/server-results.md. The bare loop is the one our signing docs show (the secret
// given as a string); a second one, with the secret encoded once as a Buffer as the helpers do
// inside, is shown too, so the helpers' gain from that is visible rather than hidden in the ratio.
import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { personSignature, userSignature, verificationToken, verifySignature, verifyVerificationToken } from '../dist/server.mjs'
import { progress } from './progress.mjs'

const SECRET = 'bench-secret-0123456789abcdef'
const SECRET_BYTES = Buffer.from(SECRET)
const KEY = Buffer.from('0f8e2c1a7b3d4e5f9a0b1c2d3e4f5a6b;9b8a7c6d5e4f3a2b1c0de9f8a7b6c5d4e3f2').toString('base64')
const IDS = Array.from({ length: 1024 }, (_, i) => `user-${i}@example.com`)
const ROUNDS = 15
const PER_ROUND = 40_000

// The loops run in alternating rounds, so a slow stretch of the machine (2 shared cores) slows all
// of them; each ratio is the median of the per-round ratios.
const rate = (fn) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < PER_ROUND; i++) fn(i)
  return PER_ROUND / (Number(process.hrtime.bigint() - start) / 1e9)
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const compare = (name, ...loops) => {
  loops.forEach(rate)
  const rounds = Array.from({ length: ROUNDS }, (_, i) => {
    const rates = loops.map(rate)
    bar.tick(`${name}, round ${i + 1}`)
    return rates
  })
  return {
    rates: loops.map((_, i) => median(rounds.map((r) => r[i]))),
    ratios: loops.map((_, i) => median(rounds.map((r) => r[0] / r[i]))),
  }
}

const hex = IDS.map((id) => personSignature(SECRET, id))
const b64 = IDS.map((id) => userSignature(SECRET, id))
const tokens = IDS.map((id) => verificationToken(KEY, id))
const tokenSecret = Buffer.from(Buffer.from(KEY, 'base64').toString().split(';')[1], 'hex')
const at = (i) => i & 1023
let sink = 0

const rows = [
  [
    'hex',
    (i) => (sink += verifySignature(SECRET, IDS[at(i)], hex[at(i)])),
    (i) => (sink += createHmac('sha256', SECRET).update(IDS[at(i)]).digest('hex') == hex[at(i)]),
    (i) => (sink += createHmac('sha256', SECRET_BYTES).update(IDS[at(i)]).digest('hex') == hex[at(i)]),
  ],
  [
    'base64',
    (i) => (sink += verifySignature(SECRET, IDS[at(i)], b64[at(i)])),
    (i) => (sink += createHmac('sha256', SECRET).update(IDS[at(i)]).digest('base64') == b64[at(i)]),
    (i) => (sink += createHmac('sha256', SECRET_BYTES).update(IDS[at(i)]).digest('base64') == b64[at(i)]),
  ],
  // A token's secret is bytes already (hex in the Verification Key): both bare loops are the same.
  [
    'token',
    (i) => (sink += verifyVerificationToken(KEY, IDS[at(i)], tokens[at(i)], { maxAgeSeconds: 3600 }).ok),
    (i) => (sink += createHmac('sha256', tokenSecret).update(IDS[at(i)]).update(Buffer.alloc(4)).digest().length == 32),
  ],
]

const fmt = (n) => Math.round(n).toLocaleString('en')
const lines = [
  '| scheme | helper verifications/s | bare createHmac loop/s | ratio | bare loop, key as Buffer/s | ratio |',
  '| --- | --- | --- | --- | --- | --- |',
]
const bar = progress('rounds', rows.length * ROUNDS)
for (const [name, ...loops] of rows) {
  const { rates, ratios } = compare(name, ...loops)
  lines.push(`| ${name} | ${fmt(rates[0])} | ${fmt(rates[1])} | ${ratios[1].toFixed(2)} | ${rates[2] ? fmt(rates[2]) : '(same)'} | ${ratios[2] ? ratios[2].toFixed(2) : ''} |`)
}
bar.stop()
console.log(lines.slice(2).join('\n'))
writeFileSync(
  new URL('server-results.md', import.meta.url),
  `# Node helpers against a bare createHmac loop

Measured by \`npm run bench:server\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}: verifications per
second, each the median of ${ROUNDS} rounds of ${PER_ROUND.toLocaleString('en')}, the loops alternating; a ratio is the median of the
per-round ratios (helper ÷ loop). The goal is ≥ 0.9 of the bare loop.

${lines.join('\n')}
`,
)
if (!sink) console.log('')
