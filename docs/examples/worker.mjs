// Cloudflare Workers (with the nodejs_compat flag), Deno and Bun: a Request → Response handler.
import { createSignetHandler } from 'signet-tracker/server'

export default {
  async fetch(request, env) {
    const signet = createSignetHandler({
      projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [env.SIGNET_SECRET] } },
      onEvents: (accepted) => env.EVENTS.send(accepted), // e.g. a Queues binding
    })
    const url = new URL(request.url)
    return url.pathname == '/track' ? signet.fetch(request, request.headers.get('cf-connecting-ip') ?? undefined) : new Response('not found', { status: 404 })
  },
}
