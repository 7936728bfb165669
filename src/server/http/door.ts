import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Log } from '../ops/log'
import { HttpError } from '../verify/batch'

/** Where a request goes: its path and its query, read from the request line without ever throwing. */
export interface Target {
  path: string
  query: URLSearchParams
}

/**
 * The path and query of a request line as sent: origin form (`/track?x`), or absolute form
 * (`http://host/track`, which a client may send to a server). Read by hand, not by `new URL`: `//`,
 * `///x` and `//[` are origin-form paths a client may send, and `new URL` takes them for a host.
 * Anything else (`*`, garbage) has no path: undefined.
 */
export function targetOf(url = '/'): Target | undefined {
  let rest = url
  if (!rest.startsWith('/')) {
    const absolute = /^https?:\/\/[^/?#]*/i.exec(rest)
    if (!absolute) return undefined
    rest = rest.slice(absolute[0].length) || '/'
    if (!rest.startsWith('/') && !rest.startsWith('?')) return undefined
    if (rest.startsWith('?')) rest = '/' + rest
  }
  const q = rest.indexOf('?')
  return q < 0 ? { path: rest, query: new URLSearchParams() } : { path: rest.slice(0, q), query: new URLSearchParams(rest.slice(q + 1)) }
}

/**
 * A route: answers the requests whose path is its own and returns true, or the promise of its
 * answer; returns false for any other path, for the next route to try.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, target: Target) => boolean | Promise<unknown>

export interface DoorOptions {
  log: Log
  /** Called once each request has been answered (or its connection lost): its route's name, status, seconds taken (undefined for a stream, which lasts as long as its reader). */
  done?: (route: string, method: string, status: string, seconds?: number) => void
}

/** What a path looks like in a log line: its first 120 characters, nothing but printable ASCII. Never its query (a token may be there). */
const printable = (path: string) => path.slice(0, 120).replace(/[^\x20-\x7e]/g, '?')

/**
 * The one door every request enters by, and its one error boundary: the routes are tried in turn
 * (named, for the metrics), a request none takes is a 404, one whose target cannot be read a 400,
 * and a route that throws or rejects is answered 500 with a request id, logged on one line (the id,
 * the method, the path, the error's message: never a header, a body or a query), and the process
 * goes on.
 */
export function createDoor(routes: [name: string, route: Route][], { log, done }: DoorOptions) {
  // A request id: this process's prefix and a count, unique across workers and restarts in practice.
  const prefix = randomBytes(3).toString('hex')
  let count = 0

  const answer = (res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    if (res.headersSent) return void res.destroy()
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(JSON.stringify(body))
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now()
    let name = 'none'
    if (done)
      res.once('close', () => {
        const streamed = String(res.getHeader('Content-Type')).startsWith('text/event-stream')
        done(name, req.method || 'GET', res.writableFinished ? String(res.statusCode) : 'aborted', streamed ? undefined : (performance.now() - started) / 1000)
      })
    const fail = (err: unknown) => {
      if (err instanceof HttpError) return answer(res, err.status, { error: err.message })
      const id = `${prefix}-${(++count).toString(36)}`
      log(`request ${id} failed: ${err instanceof Error ? err.message : String(err)}`, 'error', { request: id, route: name, method: req.method, path: printable((req.url || '').split('?')[0]) })
      answer(res, 500, { error: 'internal error', request: id }, { 'X-Request-Id': id })
    }
    try {
      const target = targetOf(req.url)
      if (!target) return answer(res, 400, { error: 'no path in the request line' })
      for (const [routeName, route] of routes) {
        name = routeName
        const taken = route(req, res, target)
        if (taken === false) continue
        if (taken !== true) taken.catch(fail)
        return
      }
      name = 'none'
      answer(res, 404, { error: 'not found' })
    } catch (err) {
      fail(err)
    }
  }
}
