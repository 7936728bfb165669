// Signet's collect endpoint in a plain Node server. Run: SIGNET_SECRET=… node docs/examples/node-http.mjs
import { createServer } from 'node:http'
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => {
    for (const event of accepted) console.log(JSON.stringify(event))
  },
})

const server = createServer((req, res) => {
  if (req.url == '/track') return signet.node(req, res)
  res.writeHead(404).end()
})
server.listen(Number(process.env.PORT ?? 8787), '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${server.address().port}/track`))
