// Next.js App Router: app/route.ts, a page of your site for the person your session has signed in.
// renderSnippet writes their identify and auth, escaped for the <script> (their name may hold anything).
// Run: npm install signet-tracker next react react-dom, copy this folder, then
// SIGNET_SECRET=… npx next build && SIGNET_SECRET=… npx next start
import { personSignature, renderSnippet } from 'signet-tracker/server'

export const runtime = 'nodejs'
// Per request: the page is a person's, never one cached for everybody.
export const dynamic = 'force-dynamic'

export function GET() {
  const person = { id: 'u-123', name: 'Ann' }
  const head = renderSnippet({ src: '/tracker.js', token: 'GSN-123456-A', identify: person, signature: personSignature(process.env.SIGNET_SECRET!, person.id) })
  return new Response(`<!doctype html><html><head>${head}</head><body>Hello</body></html>`, { headers: { 'Content-Type': 'text/html; charset=utf-8' } })
}
