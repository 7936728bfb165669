// Next.js App Router: app/track/route.ts (Node.js runtime; it uses node:crypto).
import { createSignetHandler } from 'signet-tracker/server'

const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET!] } },
  onEvents: async (accepted) => {
    await saveEvents(accepted) // your store
  },
})

export const runtime = 'nodejs'
export const POST = (request: Request) => signet.fetch(request, request.headers.get('x-forwarded-for') ?? undefined)
export const OPTIONS = POST
