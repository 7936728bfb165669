// Fastify: bodies read as bytes, whatever their type (a gzipped request has no Content-Type), and
// handed to signet.handle, which reads gzip or JSON.
import Fastify from 'fastify'
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET] } },
  onEvents: (accepted) => queue.publish('signet-events', accepted), // your queue
})

const fastify = Fastify()
fastify.removeAllContentTypeParsers()
fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
fastify.post('/track', async (request, reply) => {
  const answer = await signet.handle(request.body, request.ip)
  return reply.code(answer.status).headers(answer.headers).send(answer.body)
})
await fastify.listen({ port: 8787 })
