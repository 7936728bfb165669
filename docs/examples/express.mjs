// Express 5: the handler reads the body itself; if a body parser ran first, it uses req.body (keep it
// bytes: express.raw({ type: () => true }), so a gzipped batch stays gzip).
// Run: SIGNET_SECRET=… node docs/examples/express.mjs
import { appendFile } from 'node:fs/promises'
import express from 'express'
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => appendFile('events.jsonl', accepted.map((e) => JSON.stringify(e) + '\n').join('')),
})

const app = express()
app.post('/track', signet.node)
app.options('/track', signet.node)
const server = app.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}/track`),
)
