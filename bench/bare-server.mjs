// The baseline of bench/collector.mjs: a bare node:http server doing what a collector must at the
// least — parse the batch, verify each HMAC, append the events to a JSONL file — and nothing else.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:http'

const [file, secret] = [process.env.BARE_FILE, process.env.BARE_SECRET]
const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    const batch = JSON.parse(Buffer.concat(chunks).toString('utf8'))
    const receivedAt = Date.now()
    let lines = ''
    for (const { signature, ...event } of batch.events) {
      const expected = createHmac('sha256', secret).update(event.personId).digest()
      const verified = timingSafeEqual(expected, Buffer.from(signature, 'hex'))
      lines += JSON.stringify({ ...event, project: batch.project, receivedAt, verdict: verified ? 'verified' : 'bad_signature', ip: req.socket.remoteAddress }) + '\n'
    }
    appendFileSync(file, lines)
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted: batch.events.length, rejected: [] }))
  })
})
server.listen(0, '127.0.0.1', () => console.log(`Collector: http://127.0.0.1:${server.address().port}/track`))
process.on('SIGTERM', () => server.close(() => process.exit(0)))
