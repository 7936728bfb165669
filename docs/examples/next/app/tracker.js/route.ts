// Next.js App Router: app/tracker.js/route.ts, the installed package's tracker.js served by this
// app (an ETag and an hour's caching).
import { trackerScript } from 'signet-tracker/server'

export const runtime = 'nodejs'
const tracker = trackerScript()
export const GET = (request: Request) => tracker.fetch(request)
