// npm run bench:abuse: what a sender can make the reference collector spend (issue 24). The
// collector runs as users run it (dist/cli.mjs collector, SQLite, Secure Mode enforce), in its own
// process; this one sends.
// 1. Time: bodies of at most 1 KiB of gzip built to cost the most (unpacking, nesting, the most
//    events, signatures to verify, the longest fields), each answered 40 times in turns with a small
//    valid batch; the ratio of medians to it. Goal: none over 5x. Then three senders posting the
//    costliest as fast as they can while a fourth times small valid batches: p50 and p90 against idle.
// 2. Room: one client uploading 0.2 MB of gzip, as fast as it can, of the anonymous events that
//    store the most; what the store's files grew by. Goal: at most 10 MB. And the busiest real
//    visitor, a tab's 1,000-event backlog sent at once: none of it refused.
// 3. Refused work (issue 31): one address flooding events that are refused, of distinct forged ES256
//    tokens and then of people claimed without a signature, from three connections as fast as it
//    can, while an honest client from another address times small signed batches: p50 and p90
//    against idle (goal: p50 within 3x), and whether the Security view kept another address's rows.
// Writes bench/abuse.md. BENCH_CLI runs another build's cli.mjs (an earlier commit's, to compare).
import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { progress } from './progress.mjs'

const ROOT = new URL('..', import.meta.url).pathname
const CLI = process.env.BENCH_CLI || join(ROOT, 'dist/cli.mjs')
const RUNS = Number(process.env.BENCH_RUNS || 40)
const FLOOD_ROUNDS = Number(process.env.BENCH_ROUNDS || 5)
const PROJECT = 'GSN-ABUSE-1'
const SECRET = randomBytes(16).toString('hex')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

/** The collector, started as `signet collector` is, on a SQLite file of its own. */
async function collector(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-abuse-'))
  const child = spawn(process.execPath, [CLI, 'collector', '--port', '0', '--db', join(dir, 'signet.db')], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...(!env.SIGNET_CONFIG && { SIGNET_PROJECT: PROJECT, SIGNET_SECRET: SECRET }), ...env },
  })
  let log = ''
  const url = await new Promise((resolve, reject) => {
    const read = (d) => {
      log += d
      const m = /Collector: (http:\/\/\S+)\/track/.exec(log)
      if (m) resolve(m[1])
    }
    child.stdout.on('data', read)
    child.stderr.on('data', read)
    child.on('exit', (code) => reject(new Error(`collector exited ${code}: ${log}`)))
  })
  const bytes = () => readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0)
  return { url, dir, bytes, stop: () => (child.kill('SIGTERM'), new Promise((r) => child.on('exit', r))) }
}

// Idle connections are dropped before the collector's keep-alive timeout (5 s) closes them under a request.
const agent = new Agent({ keepAlive: true, maxSockets: 8, timeout: 4000 })
/** Posts a body; resolves to [status, ms]. (A connection the collector closed as it was taken: sent again.) */
const post = async (url, body, headers = {}) => {
  for (let tries = 1; ; tries++)
    try {
      return await send(url, body, headers)
    } catch (err) {
      if (err.code != 'ECONNRESET' || tries == 3) throw err
    }
}
const send = (url, body, headers) =>
  new Promise((resolve, reject) => {
    const t = process.hrtime.bigint()
    const req = request(url + '/track', { method: 'POST', agent, headers: { 'Content-Length': body.length, ...headers } }, (res) => {
      res.resume().on('end', () => resolve([res.statusCode, Number(process.hrtime.bigint() - t) / 1e6]))
    })
    req.on('error', reject)
    req.end(body)
  })

let n = 0
const id = () => `${Date.now().toString(16)}${(++n).toString(16).padStart(8, '0')}`
const event = (extra = {}) => ({ id: id(), type: 'event', name: 'click', ts: Date.now(), anonymousId: 'a'.repeat(32), page: { url: 'https://shop.test/p', title: 'Shop', referrer: '' }, ...extra })
const batch = (events) => JSON.stringify({ v: 1, project: PROJECT, sentAt: Date.now(), events })
const sign = (person) => createHmac('sha256', SECRET).update(person).digest('hex')

// A tracker's batch of two events, as JSON (under 1,000 characters it is not compressed).
const small = () => Buffer.from(batch([event(), event({ personId: 'u1', signature: sign('u1') })]))
// As many events as fit in 1 KiB of gzip (at most the 500 a request may carry); the count is found
// once per kind of event, and each body made anew with it.
const counts = new Map()
const most = (make) => {
  let count = counts.get(make.toString()) || 500
  for (;; count -= count > 20 ? 10 : 1) {
    const body = gzipSync(batch(Array.from({ length: count }, make)))
    if (body.length <= 1024) return counts.set(make.toString(), count), body
  }
}
// What a sender can pack into at most 1 KiB of gzip, built anew each time (fresh ids: no repeat is cheaper).
const COSTLY = {
  "'[' x 524,000 (once 220 ms)": () => gzipSync('['.repeat(524_000)),
  'nested 5,000 deep': () => gzipSync(`{"v":1,"project":"${PROJECT}","events":[{"props":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]}`),
  'the most anonymous events': () => most(() => event()),
  'the most forged signatures to verify': () => most(() => event({ personId: 'victim', signature: 'f'.repeat(64) })),
  'forged signatures with the largest props': () => most(() => event({ personId: 'victim', signature: 'f'.repeat(64), props: { p: 'x'.repeat(8000) } })),
  'the longest fields and anonymous props': () =>
    gzipSync(batch(Array.from({ length: 6 }, () => event({ props: { p: 'x'.repeat(4000) }, page: { url: 'u'.repeat(2048), title: 't'.repeat(512), referrer: 'r'.repeat(2048) } })))),
  'props of 400 keys': () => most(() => event({ props: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, 0])) })),
}

async function time() {
  // No budget here: this part times what one request costs, not how many a client may send.
  const c = await collector({ SIGNET_CLIENT_EVENTS: '0' })
  const base = []
  const rows = []
  const costly = progress('costly bodies', Object.keys(COSTLY).length + FLOOD_ROUNDS)
  for (const [name, make] of Object.entries(COSTLY)) {
    const body = make()
    if (body.length > 1024) throw new Error(`abuse: "${name}" is ${body.length} B of gzip, over 1 KiB`)
    const costs = []
    let status
    for (let i = -2; i < RUNS; i++) {
      const [, b] = await post(c.url, small())
      const [s, ms] = await post(c.url, make())
      if (i < 0) continue
      base.push(b)
      costs.push(ms)
      status = s
    }
    rows.push({ name, bytes: body.length, status, ms: median(costs) })
    costly.tick(name)
  }
  await c.stop()
  const baseMs = median(base)
  // Three senders, each from an address of its own (behind a proxy the collector trusts), post the
  // costliest body as fast as they can while a fourth times small batches; budgets as by default.
  const worst = rows.reduce((a, b) => (b.ms > a.ms ? b : a))
  const d = await collector({ SIGNET_TRUST_PROXY: '127.0.0.1' })
  const from = (ip) => ({ 'X-Forwarded-For': ip })
  const timed = async () => {
    const ms = []
    for (let i = 0; i < RUNS; i++) ms.push((await post(d.url, small(), from('198.51.100.9')))[1])
    return ms
  }
  const refused = {}
  // Made before: making them as they go would slow this process, and the timings it takes.
  const pool = Array.from({ length: 60 }, COSTLY[worst.name])
  // Idle and loaded take turns, round after round (a slow stretch of the machine slows both).
  const idle = []
  const loaded = []
  for (let round = 0; round < FLOOD_ROUNDS; round++) {
    idle.push(await timed())
    let stop = false
    const senders = [1, 2, 3].map(async (k) => {
      for (let i = k; !stop; i += 3) {
        const [status] = await post(d.url, pool[i % pool.length], from(`203.0.113.${k}`))
        refused[status] = (refused[status] || 0) + 1
      }
    })
    loaded.push(await timed())
    stop = true
    await Promise.all(senders)
    costly.tick(`flood round ${round + 1}`)
  }
  costly.stop()
  await d.stop()
  return { baseMs, rows, worst: worst.name, idle, loaded, refused }
}

async function room() {
  const c = await collector()
  const before = c.bytes()
  // The most a stored anonymous event can hold: props at the anonymous bound, the longest page fields, all compressible.
  const fat = () => event({ props: { p: 'x'.repeat(4000) }, page: { url: 'u'.repeat(2048), title: 't'.repeat(512), referrer: 'r'.repeat(2048) } })
  let sent = 0
  const answers = {}
  while (sent < 200 * 1024) {
    // Six of them: the most a small body may unpack to (64 KiB).
    const body = gzipSync(batch(Array.from({ length: 6 }, fat)))
    sent += body.length
    const [status] = await post(c.url, body)
    answers[status] = (answers[status] || 0) + 1
  }
  await new Promise((r) => setTimeout(r, 500))
  const grew = c.bytes() - before
  await c.stop()
  // Stopped, the write-ahead log is copied into the database and goes: what stays.
  const kept = c.bytes() - before
  // The busiest real visitor: a 1,000-event backlog, as the tracker sends it (100 events, gzipped, at once).
  const v = await collector()
  const backlog = []
  for (let i = 0; i < 10; i++)
    backlog.push((await post(v.url, gzipSync(batch(Array.from({ length: 100 }, () => event({ props: { plan: 'pro', step: i } }))))))[0])
  await v.stop()
  return { sent, grew, kept, answers, backlog }
}

/**
 * One address floods refused events (forged ES256 tokens of a jwt project, then people claimed
 * without a signature) from three connections; an honest client from another address times small
 * signed batches. Both behind a proxy the collector trusts, to have addresses of their own.
 */
async function flood() {
  const dir = mkdtempSync(join(tmpdir(), 'signet-flood-'))
  const provider = await generateKeyPair('ES256')
  const forger = await generateKeyPair('ES256')
  const jwk = { ...(await exportJWK(provider.publicKey)), kid: 'k1', alg: 'ES256' }
  const config = join(dir, 'signet.json')
  writeFileSync(
    config,
    JSON.stringify({
      projects: {
        [PROJECT]: { secureMode: 'enforce', secrets: [SECRET] },
        'GSN-JWT': { secureMode: 'enforce', scheme: 'jwt', keys: [jwk], issuer: 'https://id.test/', audience: 'shop' },
      },
    }),
  )
  const c = await collector({ SIGNET_CONFIG: config, SIGNET_TRUST_PROXY: '127.0.0.1', SIGNET_DASHBOARD_TOKEN: 'bench' })
  const honest = { 'X-Forwarded-For': '198.51.100.9' }
  const attacker = { 'X-Forwarded-For': '203.0.113.66', 'Content-Type': 'text/plain' }
  // Evidence from another address first: 30 attempts claiming one person.
  const evidence = Buffer.from(JSON.stringify({ v: 1, project: PROJECT, sentAt: Date.now(), events: Array.from({ length: 30 }, () => event({ personId: 'claimed-by-192.0.2.7' })) }))
  await post(c.url, evidence, { 'X-Forwarded-For': '192.0.2.7' })
  // 200 events a batch, each with a token of its own, signed by a key the provider never had.
  const token = (i) =>
    new SignJWT({ sub: `victim-${i}` }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://id.test/').setAudience('shop').setIssuedAt().setExpirationTime('1h').sign(forger.privateKey)
  const forged = []
  for (let b = 0; b < 20; b++) {
    const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => token(b * 200 + i)))
    forged.push(gzipSync(JSON.stringify({ v: 1, project: 'GSN-JWT', sentAt: Date.now(), events: tokens.map((t, i) => event({ personId: `victim-${b * 200 + i}`, signature: t })) })))
  }
  const claims = Array.from({ length: 20 }, (_, b) => gzipSync(batch(Array.from({ length: 200 }, (_, i) => event({ personId: `victim-${b * 200 + i}` })))))
  const timed = async (count) => {
    const ms = []
    for (let i = 0; i < count; i++) ms.push((await post(c.url, small(), honest))[1])
    return ms
  }
  const under = async (bodies, answers) => {
    let stop = false
    const senders = [0, 1, 2].map(async (k) => {
      for (let i = k; !stop; i += 3) {
        const [status] = await post(c.url, bodies[i % bodies.length], attacker)
        answers[status] = (answers[status] || 0) + 1
      }
    })
    const ms = await timed(RUNS)
    stop = true
    await Promise.all(senders)
    return ms
  }
  // Idle and each flood take turns, round after round, so a slow stretch of the machine slows all three;
  // each ratio is the median of the rounds' ratios to that round's idle.
  const rounds = { idle: [], tokens: [], unsigned: [] }
  const answers = { tokens: {}, unsigned: {} }
  const flooding = progress('floods', FLOOD_ROUNDS)
  for (let round = 0; round < FLOOD_ROUNDS; round++) {
    rounds.idle.push(await timed(RUNS))
    rounds.tokens.push(await under(forged, answers.tokens))
    rounds.unsigned.push(await under(claims, answers.unsigned))
    flooding.tick(`round ${round + 1}`)
  }
  flooding.stop()
  await new Promise((r) => setTimeout(r, 11_000))
  const security = await fetch(c.url + `/api/security?project=${PROJECT}&limit=500`, { headers: { Authorization: 'Bearer bench' } }).then((r) => r.json(), () => ({ attempts: [] }))
  const kept = (security.attempts || []).filter((a) => a.personId == 'claimed-by-192.0.2.7').reduce((n, a) => n + a.n, 0)
  await c.stop()
  return { rounds, answers, kept }
}

const t = await time()
const r = await room()
const f = await flood()
agent.destroy()
// Rounds of timings: the median of each round's percentile, and of each round's ratio to its idle.
const roundsMs = (rounds, p) => median(rounds.map((x) => pct(x, p)))
const roundsRatio = (rounds, idle, p) => median(rounds.map((x, i) => pct(x, p) / pct(idle[i], p)))
const fmt = (x, d = 1) => x.toLocaleString('en', { minimumFractionDigits: d, maximumFractionDigits: d })
const lines = [
  '# What a sender can make the collector spend',
  '',
  `Measured by \`npm run bench:abuse\` on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}: the reference`,
  'collector (`signet collector`, SQLite, Secure Mode enforce) in a process of its own, requests over',
  'loopback with keep-alive, one at a time. See `bench/abuse.mjs` for what each body is.',
  '',
  `## One request: bodies of at most 1 KiB of gzip against a small valid batch (${fmt(t.baseMs, 2)} ms, median of ${RUNS * COSTLY_COUNT()} taken in turns)`,
  '',
  '| body | gzip B | answer | median ms | × the small batch | goal ≤ 5× |',
  '| --- | --- | --- | --- | --- | --- |',
  ...t.rows.map((x) => `| ${x.name} | ${x.bytes} | ${x.status} | ${fmt(x.ms, 2)} | ${fmt(x.ms / t.baseMs)} | ${x.ms / t.baseMs <= 5 ? 'yes' : '**no**'} |`),
  '',
  `Three senders, each from its own address, posting "${t.worst}" as fast as they can (budgets as by`,
  `default: ${Object.entries(t.refused).map(([s, k]) => `${k} × ${s}`).join(', ')}), while a fourth times small valid batches:`,
  `p50 ${fmt(roundsMs(t.loaded, 0.5), 2)} ms, p90 ${fmt(roundsMs(t.loaded, 0.9), 2)} ms, against ${fmt(roundsMs(t.idle, 0.5), 2)} and ${fmt(roundsMs(t.idle, 0.9), 2)} ms idle`,
  `(${fmt(roundsRatio(t.loaded, t.idle, 0.5))}× and ${fmt(roundsRatio(t.loaded, t.idle, 0.9))}×; idle and loaded taking turns, ${FLOOD_ROUNDS} rounds of ${RUNS}, medians of the rounds).`,
  '',
  '## Room: one client uploading 0.2 MB of gzip',
  '',
  `${fmt(r.sent / 1024, 0)} KiB of gzip, in batches of 6 anonymous events holding what an anonymous event may (props of`,
  `4,096 characters, the longest url, title and referrer): the store grew by ${fmt(r.kept / 2 ** 20, 2)} MB (goal: at most 10 MB;`,
`${fmt(r.grew / 2 ** 20, 2)} MB with its write-ahead log while the collector ran).`,
  `Answers: ${Object.entries(r.answers).map(([s, k]) => `${k} × ${s}`).join(', ')}.`,
  '',
  `The busiest real visitor, a 1,000-event backlog in 10 requests sent at once: ${r.backlog.every((s) => s == 200) ? 'all answered 200' : 'answers ' + r.backlog.join(', ')}.`,
  '',
  '## Refused work: one address flooding events the collector refuses',
  '',
  'One address posts, from three connections as fast as it can, gzip batches of events that are refused; an',
  'honest client from another address times small signed batches meanwhile (both behind a proxy the collector trusts).',
  `Idle and the two floods take turns, ${FLOOD_ROUNDS} rounds of ${RUNS} timed batches each; medians of the rounds, ratios to the same round's idle.`,
  '',
  '| flood | its answers | honest p50 ms | × idle | honest p90 ms | × idle | goal p50 ≤ 3× |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  `| none (idle) | | ${fmt(roundsMs(f.rounds.idle, 0.5), 2)} | 1.0 | ${fmt(roundsMs(f.rounds.idle, 0.9), 2)} | 1.0 | |`,
  ...[
    ['200 events a batch, each with a distinct forged ES256 token', 'tokens'],
    ['200 events a batch claiming people, unsigned', 'unsigned'],
  ].map(([name, key]) => {
    const ms = (p) => roundsMs(f.rounds[key], p)
    const ratio = (p) => roundsRatio(f.rounds[key], f.rounds.idle, p)
    const answers = Object.entries(f.answers[key]).map(([s, k]) => `${k} × ${s}`).join(', ')
    return `| ${name} | ${answers} | ${fmt(ms(0.5), 2)} | ${fmt(ratio(0.5))} | ${fmt(ms(0.9), 2)} | ${fmt(ratio(0.9))} | ${ratio(0.5) <= 3 ? 'yes' : '**no**'} |`
  }),
  '',
  `The Security view afterwards still holds ${f.kept} of the 30 attempts another address made before the flood.`,
]
function COSTLY_COUNT() {
  return Object.keys(COSTLY).length
}
writeFileSync(join(ROOT, 'bench/abuse.md'), lines.join('\n') + '\n')
console.log(lines.join('\n'))
