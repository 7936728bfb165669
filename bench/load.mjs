// The load of bench/collector.mjs, in its own process: `concurrency` senders, each posting signed
// batches of `batch` events for one person at a time (a page's outbox is one person's), over
// keep-alive connections, for `seconds` or until `total` events are acknowledged. Prints one JSON
// line: events acknowledged, requests, failures, latency percentiles.
import { createHmac, randomBytes } from 'node:crypto'
import http from 'node:http'
import { parseArgs } from 'node:util'
import { progress } from './progress.mjs'

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    project: { type: 'string', default: 'GSN-BENCH-1' },
    secret: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    total: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '32' },
    batch: { type: 'string', default: '20' },
    persons: { type: 'string', default: '5000' },
    ids: { type: 'string', default: 'time' },
    start: { type: 'string', default: '0' },
    // Each batch sent to two of the URLs at once (a tracker re-sending to another collector).
    twice: { type: 'boolean', default: false },
  },
})
// Several collect URLs, comma-separated: taken in turn, request by request (round robin).
const urls = o.url.split(',').map((u) => new URL(u))
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(o.concurrency) })
const persons = Array.from({ length: Number(o.persons) }, (_, i) => {
  const id = `person-${i}@example.com`
  return { id, signature: createHmac('sha256', o.secret).update(id).digest('hex') }
})
const run = randomBytes(4).toString('hex')
let next = Number(o.start)
// Ids as the tracker makes them: 32 hex characters, either all random or led by the time in ms.
const id = o.ids == 'random' ? () => randomBytes(16).toString('hex') : () => Date.now().toString(16).padStart(12, '0') + randomBytes(10).toString('hex')
const body = (person) => {
  const events = []
  for (let i = 0; i < Number(o.batch); i++)
    events.push({
      id: id(),
      type: i ? 'event' : 'pageview',
      ts: Date.now(),
      anonymousId: 'b0e2c9f4a1d84e6f8c3b7a5d2e1f0c9b',
      personId: person.id,
      signature: person.signature,
      ...(i && { name: 'add_to_cart', props: { sku: 'SKU-' + i, price: 19.99, quantity: 1 } }),
      page: { url: 'https://shop.example.com/products/socks?ref=home', title: 'Socks — Example Shop', referrer: 'https://shop.example.com/' },
    })
  return JSON.stringify({ v: 1, project: o.project, sentAt: Date.now(), events })
}
const post = (text, url) =>
  new Promise((resolve) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'Content-Type': 'text/plain;charset=UTF-8' } },
      (res) => {
        let answer = ''
        res.on('data', (d) => (answer += d))
        res.on('end', () => resolve(res.statusCode == 200 ? JSON.parse(answer).accepted : -1))
      },
    )
    req.on('error', () => resolve(-1))
    req.end(text)
  })

const total = Number(o.total)
const until = Date.now() + Number(o.seconds) * 1000
const latencies = []
let acked = 0
let requests = 0
let failures = 0
let sent = 0
const started = performance.now()
// A fill (--total) can take minutes: its bar on a terminal (bench/progress.mjs), the caller's stderr.
const bar = total ? progress('sending', total) : { tick() {}, stop() {} }
await Promise.all(
  Array.from({ length: Number(o.concurrency) }, async (_, sender) => {
    for (let k = sender; total ? sent < total : Date.now() < until; k += Number(o.concurrency)) {
      sent += Number(o.batch)
      const text = body(persons[k % persons.length])
      const t = performance.now()
      const to = urls[k % urls.length]
      const [accepted] = await Promise.all([post(text, to), ...(o.twice ? [post(text, urls[(k + 1) % urls.length])] : [])])
      latencies.push(performance.now() - t)
      requests++
      if (accepted < 0) failures++
      else acked += accepted
      bar.tick(`${acked.toLocaleString('en-US')} acknowledged`, Number(o.batch))
    }
  }),
)
bar.stop()
const seconds = (performance.now() - started) / 1000
latencies.sort((a, b) => a - b)
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))]
console.log(JSON.stringify({ acked, requests, failures, seconds, rate: acked / seconds, p50: at(0.5), p99: at(0.99), next }))
agent.destroy()
