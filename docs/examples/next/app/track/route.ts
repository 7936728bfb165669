// Next.js App Router: app/track/route.ts (Node.js runtime; it uses node:crypto).
import { appendFile } from 'node:fs/promises'
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET!] } },
  // Your store or queue; keyed by event id, since a re-sent event keeps its id.
  onEvents: (accepted) => appendFile('events.jsonl', accepted.map((e) => JSON.stringify(e) + '\n').join('')),
})

export const runtime = 'nodejs'
export const POST = (request: Request) => signet.fetch(request, request.headers.get('x-forwarded-for') ?? undefined)
export const OPTIONS = POST
