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
// Writes bench/abuse.md.
import { spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { Agent, request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

const ROOT = new URL('..', import.meta.url).pathname
const RUNS = Number(process.env.BENCH_RUNS || 40)
const PROJECT = 'GSN-ABUSE-1'
const SECRET = randomBytes(16).toString('hex')
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

/** The collector, started as `signet collector` is, on a SQLite file of its own. */
async function collector(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-abuse-'))
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli.mjs'), 'collector', '--port', '0', '--db', join(dir, 'signet.db')], {
    cwd: dir,
    env: { PATH: process.env.PATH, SIGNET_PROJECT: PROJECT, SIGNET_SECRET: SECRET, ...env },
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
  }
  await c.stop()
  const baseMs = median(base)
  // Three senders, each from an address of its own (behind a proxy the collector trusts), post the
  // costliest body as fast as they can while a fourth times small batches; budgets as by default.
  const worst = rows.reduce((a, b) => (b.ms > a.ms ? b : a))
  const d = await collector({ SIGNET_TRUST_PROXY: '127.0.0.1' })
  const from = (ip) => ({ 'X-Forwarded-For': ip })
  const idle = []
  for (let i = 0; i < RUNS; i++) idle.push((await post(d.url, small(), from('198.51.100.9')))[1])
  let stop = false
  const refused = {}
  // Made before: making them as they go would slow this process, and the timings it takes.
  const pool = Array.from({ length: 60 }, COSTLY[worst.name])
  const senders = [1, 2, 3].map(async (k) => {
    for (let i = k; !stop; i += 3) {
      const [status] = await post(d.url, pool[i % pool.length], from(`203.0.113.${k}`))
      refused[status] = (refused[status] || 0) + 1
    }
  })
  const loaded = []
  for (let i = 0; i < RUNS * 2; i++) loaded.push((await post(d.url, small(), from('198.51.100.9')))[1])
  stop = true
  await Promise.all(senders)
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

const t = await time()
const r = await room()
agent.destroy()
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
  `p50 ${fmt(pct(t.loaded, 0.5), 2)} ms, p90 ${fmt(pct(t.loaded, 0.9), 2)} ms, against ${fmt(pct(t.idle, 0.5), 2)} and ${fmt(pct(t.idle, 0.9), 2)} ms idle`,
  `(${fmt(pct(t.loaded, 0.5) / pct(t.idle, 0.5))}× and ${fmt(pct(t.loaded, 0.9) / pct(t.idle, 0.9))}×).`,
  '',
  '## Room: one client uploading 0.2 MB of gzip',
  '',
  `${fmt(r.sent / 1024, 0)} KiB of gzip, in batches of 6 anonymous events holding what an anonymous event may (props of`,
  `4,096 characters, the longest url, title and referrer): the store grew by ${fmt(r.kept / 2 ** 20, 2)} MB (goal: at most 10 MB;`,
`${fmt(r.grew / 2 ** 20, 2)} MB with its write-ahead log while the collector ran).`,
  `Answers: ${Object.entries(r.answers).map(([s, k]) => `${k} × ${s}`).join(', ')}.`,
  '',
  `The busiest real visitor, a 1,000-event backlog in 10 requests sent at once: ${r.backlog.every((s) => s == 200) ? 'all answered 200' : 'answers ' + r.backlog.join(', ')}.`,
]
function COSTLY_COUNT() {
  return Object.keys(COSTLY).length
}
writeFileSync(join(ROOT, 'bench/abuse.md'), lines.join('\n') + '\n')
console.log(lines.join('\n'))
