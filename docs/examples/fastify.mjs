// Fastify 5: bodies read as bytes, whatever their type (a gzipped request has no Content-Type), and
// handed to signet.handle, which reads gzip or JSON.
// Run: SIGNET_SECRET=… node docs/examples/fastify.mjs
import { appendFile } from 'node:fs/promises'
import Fastify from 'fastify'
import { createSignetHandler, personSignature, renderSnippet, trackerScript } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => appendFile('events.jsonl', accepted.map((e) => JSON.stringify(e) + '\n').join('')),
})
// The installed package's tracker.js, served by this app (an ETag and an hour's caching).
const tracker = trackerScript()

const fastify = Fastify()
fastify.removeAllContentTypeParsers()
fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
// The tracker's requests are CORS-simple (text/plain, no custom header): no preflight to answer.
fastify.post('/track', async (request, reply) => {
  const answer = await signet.handle(request.body, request.ip, request.headers['user-agent'])
  return reply.code(answer.status).headers(answer.headers).send(answer.body)
})

// A page of your site for the person your session has signed in: renderSnippet writes their
// identify and auth, escaped for the <script> (their name may hold anything).
const page = (person) =>
  `<!doctype html><html><head>${renderSnippet({
    src: '/tracker.js',
    token: 'GSN-123456-A',
    identify: person,
    signature: personSignature(process.env.SIGNET_SECRET, person.id),
  })}</head><body>Hello</body></html>`
fastify.get('/', (request, reply) => reply.type('text/html').send(page({ id: 'u-123', name: 'Ann' })))
fastify.get('/tracker.js', (request, reply) => {
  const { status, headers, body } = tracker.answer(request.headers['if-none-match'])
  return reply.code(status).headers(headers).send(body)
})
const url = await fastify.listen({ port: Number(process.env.PORT ?? 8787), host: '127.0.0.1' })
console.log(`listening on ${url}/ (collecting at /track)`)
