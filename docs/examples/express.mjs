// Express 5: the handler reads the body itself; if a body parser ran first, it uses req.body (keep it
// bytes: express.raw({ type: () => true }), so a gzipped batch stays gzip).
// Run: SIGNET_SECRET=… node docs/examples/express.mjs
import { appendFile } from 'node:fs/promises'
import express from 'express'
import { createSignetHandler, personSignature, renderSnippet, trackerScript } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => appendFile('events.jsonl', accepted.map((e) => JSON.stringify(e) + '\n').join('')),
})
// The installed package's tracker.js, served by this app (an ETag and an hour's caching).
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

const app = express()
app.get('/', (req, res) => res.type('html').send(page({ id: 'u-123', name: 'Ann' })))
app.get('/tracker.js', tracker.node)
app.post('/track', signet.node)
app.options('/track', signet.node)
const server = app.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}/ (collecting at /track)`),
)
