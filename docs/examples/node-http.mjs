// Signet's collect endpoint in a plain Node server. Run: SIGNET_SECRET=… node docs/examples/node-http.mjs
import { appendFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { createSignetHandler, personSignature, renderSnippet, trackerScript } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => appendFile('events.jsonl', accepted.map((e) => JSON.stringify(e) + '\n').join('')),
})
// The installed package's tracker.js, served by this server (an ETag and an hour's caching).
const tracker = trackerScript()

// A page of your site for the person your session has signed in: renderSnippet writes their
// identify and auth, escaped for the <script> (their name may hold anything).
const page = (person) =>
  `<!doctype html><html><head>${renderSnippet({
    src: '/tracker.js',
    token: 'GSN-123456-A',
    identify: person,
    signature: personSignature(process.env.SIGNET_SECRET, person.id),
  })}</head><body>Hello</body></html>`

const server = createServer((req, res) => {
  if (req.url == '/track') return signet.node(req, res)
  if (req.url == '/tracker.js') return tracker.node(req, res)
  if (req.url == '/') return res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page({ id: 'u-123', name: 'Ann' }))
  res.writeHead(404).end()
})
server.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}/ (collecting at /track)`))
