import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'

/** The scripts a site serves to browsers, by the names this package exports them under. */
export const SCRIPTS = ['tracker.js', 'adapters/beacon.js', 'adapters/engagespot.js'] as const
export type ScriptName = (typeof SCRIPTS)[number]

// tracker.js keeps one URL whatever its version, so it may not be cached for long: an hour, after
// which a browser asks again with If-None-Match and gets a 304 while it is the same file. A new
// release reaches every browser within the hour.
const CACHE_CONTROL = 'public, max-age=3600'

export interface ScriptAnswer {
  status: 200 | 304
  headers: Record<string, string>
  /** The script's text; empty for a 304. */
  body: string
}

/** The answer to a GET of a script whose text is `text`: a 304 when the browser's copy (If-None-Match) is this one. */
export function scriptAnswer(text: string, ifNoneMatch: string | undefined): ScriptAnswer {
  const etag = `"${createHash('sha256').update(text).digest('base64url').slice(0, 22)}"`
  // CORS, for a page that loads it with crossorigin (Subresource Integrity across origins needs it).
  const headers = { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': CACHE_CONTROL, ETag: etag, 'Access-Control-Allow-Origin': '*' }
  // A weak validator names the same bytes here (a proxy that compressed the answer makes it weak).
  const fresh = typeof ifNoneMatch == 'string' && ifNoneMatch.split(',').some((tag) => ['*', etag, 'W/' + etag].includes(tag.trim()))
  return fresh ? { status: 304, headers, body: '' } : { status: 200, headers, body: text }
}

export interface TrackerScript {
  /** The answer to a GET, given the request's If-None-Match header: `{status, headers, body}`. */
  answer(ifNoneMatch?: string): ScriptAnswer
  /** Answers a Node (or Express) request. */
  node(req: IncomingMessage, res: ServerResponse): void
  /** Answers a fetch-style `Request` (Next.js route handlers, Workers, Deno, Bun). */
  fetch(request: Request): Response
}

/**
 * One of the package's browser scripts (tracker.js unless named), read once from the installed
 * package, for a site's own server to serve: an ETag of its content and an hour's caching.
 */
export function trackerScript(name: ScriptName = 'tracker.js'): TrackerScript {
  if (!SCRIPTS.includes(name)) throw new Error(`trackerScript: ${JSON.stringify(name)} is not one of ${SCRIPTS.join(', ')}`)
  const text = readFileSync(createRequire(import.meta.url).resolve(`signet-tracker/${name}`), 'utf8')
  const answer = (ifNoneMatch?: string) => scriptAnswer(text, ifNoneMatch)
  return {
    answer,
    node(req, res) {
      const { status, headers, body } = answer(req.headers['if-none-match'])
      res.writeHead(status, headers).end(req.method == 'HEAD' ? undefined : body)
    },
    fetch(request) {
      const { status, headers, body } = answer(request.headers.get('if-none-match') ?? undefined)
      return new Response(status == 304 || request.method == 'HEAD' ? null : body, { status, headers })
    },
  }
}
