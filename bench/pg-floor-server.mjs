// The PostgreSQL floor of bench/collector.mjs: a bare node:http server that parses and verifies each
// batch exactly as the collector does (its own checkBatch), then stores it with one multi-row
// INSERT … ON CONFLICT DO NOTHING into a minimal table (project, id, the record's JSON) on the same
// PostgreSQL, a pool of one connection per core, and nothing else: no summaries, no counts, no
// dictionary, no conflict check. What PostgreSQL itself allows this machine.
import { cpus } from 'node:os'
import { createServer } from 'node:http'
import pg from 'pg'
import { checkBatch } from '../dist/server.mjs'

const [url, secret, project] = [process.env.FLOOR_DATABASE_URL, process.env.FLOOR_SECRET, process.env.FLOOR_PROJECT]
const projects = { [project]: { secureMode: 'enforce', secrets: [secret] } }
const pool = new pg.Pool({ connectionString: url, max: cpus().length })
await pool.query('CREATE TABLE IF NOT EXISTS floor_events (project text NOT NULL, id text NOT NULL, event text NOT NULL, PRIMARY KEY (project, id))')
const INSERT = 'INSERT INTO floor_events (project, id, event) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING'

const server = createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', async () => {
    try {
      const { accepted, rejected } = checkBatch(projects, JSON.parse(Buffer.concat(chunks).toString('utf8')), { ip: req.socket.remoteAddress })
      await pool.query(INSERT, [accepted.map((e) => e.project), accepted.map((e) => e.id), accepted.map((e) => JSON.stringify(e))])
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ accepted: accepted.length, rejected }))
    } catch (err) {
      res.writeHead(503).end(String(err))
    }
  })
})
server.listen(0, '127.0.0.1', () => console.log(`Collector: http://127.0.0.1:${server.address().port}/track`))
process.on('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))))
