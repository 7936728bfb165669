import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { Route } from '../http/door'
import type { Period, Store } from '../store/store'
import { allowed, tokenCookie, type ConsoleAccess } from './access'
import { storedRow, type Feed, type FeedRow } from './feed'
import { page } from './page'
import { isLostConnection, isUnreachable, StoreUnavailable } from '../store/guard'
import { daysOf, isoDay } from '../store/rollup'

export interface ConsoleOptions {
  store: Store
  /** What this collector decided, as it happens (and, through the feed's relay, the others'). */
  feed: Feed
  access: ConsoleAccess
  /** The configured project tokens (now: a reload may change them): the console answers about these only. */
  projects: string[] | (() => string[])
  /** The build folder, where dashboard.js is. */
  dist: string
}

const DAY = 86_400_000
const PERIODS: Record<string, number> = { '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY }
// What a list answers at most, and by default.
const MAX_LIMIT = 500
/** The most goals one request asks about, and the longest name of one. */
const MAX_GOALS = 20
const MAX_GOAL = 200
const LIMIT = 50
// What the live view starts from.
const RECENT = 200
// Dashboards open at once, and what one that stopped reading may leave unsent before it is dropped.
const MAX_SUBSCRIBERS = 100
const MAX_UNSENT = 256 * 1024

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** JSON, never cached, and with no CORS header: only the console's own page reads it. */
const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(JSON.stringify(body))

/** A day given as YYYY-MM-DD (UTC midnight), or ms since the epoch. */
const instant = (name: string, value: string) => {
  const at = /^\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(value + 'T00:00:00Z') : NaN
  if (!Number.isFinite(at)) throw new Refused(400, `${name} must be a day (2026-12-01) or ms since the epoch, not ${JSON.stringify(value.slice(0, 40))}`)
  return at
}

/** ?period=24h|7d|30d (the last one, to now), or ?from=&to= (to's whole day included). Default 7d. */
/** The period just before one, as long: what the console compares its figures with. */
const periodBefore = ({ from, to }: Period): Period => ({ from: 2 * from - to, to: from })

export function periodOf(query: URLSearchParams, now = Date.now()): Period {
  const from = query.get('from')
  const to = query.get('to')
  if (from || to) {
    if (!from || !to) throw new Refused(400, 'from and to go together')
    const period = { from: instant('from', from), to: instant('to', to) + (/^\d+$/.test(to) ? 0 : DAY) }
    if (!(period.from < period.to)) throw new Refused(400, 'from must come before to')
    return period
  }
  const span = PERIODS[query.get('period') || '7d']
  if (!span) throw new Refused(400, `period must be 24h, 7d or 30d (or from and to), not ${JSON.stringify(query.get('period')?.slice(0, 40))}`)
  return { from: now - span, to: now }
}

const limitOf = (query: URLSearchParams, name: string, fallback: number, most: number) => {
  const raw = query.get(name)
  const n = raw === null ? fallback : Number(raw)
  if (!(Number.isInteger(n) && n >= 0 && n <= most)) throw new Refused(400, `${name} must be a whole number from 0 to ${most}`)
  return n
}

/**
 * The operator's console, on every collector: the dashboard's page at /dashboard, and the JSON it
 * reads under /api/ (docs/server.md lists every endpoint, key by key). All of it behind the token.
 */
export function createConsole({ store, feed, access, projects: configured, dist }: ConsoleOptions): Route {
  const projectList = typeof configured == 'function' ? configured : () => configured
  const projectOf = (query: URLSearchParams) => {
    const projects = projectList()
    const project = query.get('project') ?? projects[0]
    if (!projects.includes(project)) throw new Refused(404, `no project ${JSON.stringify(project.slice(0, 60))} here`)
    return project
  }

  const stream = (req: IncomingMessage, res: ServerResponse, project: string): void => {
    if (feed.subscribers() >= MAX_SUBSCRIBERS) return void json(res, 503, { error: 'too many dashboards open' })
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
    res.write(': live\n\n')
    // A dashboard that stops reading is dropped, not buffered for without end.
    const write = (text: string) => (res.writableLength > MAX_UNSENT ? res.destroy() : res.write(text))
    const rows = (list: FeedRow[]) =>
      list
        .filter((row) => row.project === undefined || row.project == project)
        .map((row) => `data: ${JSON.stringify(row)}\n\n`)
        .join('')
    // Rows that arrive while the store is read are sent after what it read (the page drops a row it has).
    let early: FeedRow[] | undefined = []
    const stop = feed.subscribe(
      (list) => (early ? early.push(...list) : write(rows(list))),
      () => res.end(),
    )
    req.on('close', stop)
    Promise.all([store.counts(project), store.recent(project, { limit: RECENT })]).then(
      ([counts, recent]) => {
        write(`event: snapshot\ndata: ${JSON.stringify({ counts, rows: recent.reverse().map(storedRow) })}\n\n${rows(early!)}`)
        early = undefined
      },
      () => res.destroy(),
    )
  }

  // The views read summaries: brought up to date before answering, at most once a second.
  let summed = 0
  const fresh = async () => {
    if (Date.now() - summed < 1000) return
    summed = Date.now()
    await store.rollUp()
  }

  const api = async (req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams) => {
    const method = req.method || 'GET'
    if (method == 'GET' && /^\/api\/(overview|people|pages|goals|security)/.test(path)) await fresh()
    const person = /^\/api\/people\/([^/]+)(\/events)?$/.exec(path)
    if (path == '/api/projects' && method == 'GET') return json(res, 200, { projects: projectList() })
    const project = projectOf(query)
    if (path == '/api/stream' && method == 'GET') return stream(req, res, project)
    if (method == 'GET' && path == '/api/overview') {
      const period = periodOf(query)
      const before = periodBefore(period)
      const [now, then] = await Promise.all([store.overview(project, period), store.overview(project, before)])
      return json(res, 200, { project, period, ...now, previous: { period: before, verdicts: then.verdicts, rejected: then.rejected, revenue: then.revenue } })
    }
    if (method == 'GET' && path == '/api/people') {
      const prefix = query.get('prefix') || undefined
      const search = query.get('search')?.slice(0, 200) || undefined
      const people = await store.people(project, { period: periodOf(query), prefix, search, limit: limitOf(query, 'limit', LIMIT, MAX_LIMIT), offset: limitOf(query, 'offset', 0, 1e9) })
      return json(res, 200, { project, people })
    }
    if (method == 'GET' && path == '/api/pages') return json(res, 200, { project, ...(await store.names(project, periodOf(query), limitOf(query, 'limit', 20, MAX_LIMIT))) })
    if (method == 'GET' && path == '/api/goals') {
      const names = [...new Set(query.getAll('name'))]
      if (names.length > MAX_GOALS || names.some((n) => !n || n.length > MAX_GOAL)) throw new Refused(400, `name: 1 to ${MAX_GOALS} event names, each of 1 to ${MAX_GOAL} characters`)
      const period = periodOf(query)
      const before = periodBefore(period)
      const [now, then] = await Promise.all([store.eventsByDay(project, period, names), store.eventsByDay(project, before, names)])
      const [first, last] = daysOf(period)
      const goals = names.map((name) => {
        const mine = new Map(now.filter((r) => r.name == name).map((r) => [r.day, r.n]))
        const days = Array.from({ length: last - first + 1 }, (_, i) => ({ day: isoDay(first + i), n: mine.get(isoDay(first + i)) || 0 }))
        const sum = (rows: { name: string; n: number }[]) => rows.filter((r) => r.name == name).reduce((a, r) => a + r.n, 0)
        return { name, n: sum(now), previous: sum(then), days }
      })
      return json(res, 200, { project, period, goals })
    }
    if (method == 'GET' && path == '/api/security') return json(res, 200, { project, attempts: await store.attempts(project, periodOf(query), limitOf(query, 'limit', LIMIT, MAX_LIMIT)) })
    if (person) {
      let id: string
      try {
        id = decodeURIComponent(person[1])
      } catch {
        throw new Refused(400, 'the person id in the path is not valid percent-encoding')
      }
      if (method == 'GET' && person[2]) {
        const events = await store.timeline(project, id, { limit: limitOf(query, 'limit', LIMIT, MAX_LIMIT), offset: limitOf(query, 'offset', 0, 1e9) })
        return json(res, 200, { project, person: id, events })
      }
      if (method == 'GET') {
        const found = await store.person(project, id)
        return found ? json(res, 200, { project, person: found }) : json(res, 404, { error: `no verified person ${JSON.stringify(id.slice(0, 60))} in ${project}` })
      }
      if (method == 'DELETE' && !person[2]) return json(res, 200, { project, person: id, forgot: await store.forget(id, project) })
    }
    throw new Refused(404, `no ${method} ${path.slice(0, 80)}`)
  }

  return (req, res, { path, query }) => {
    if (path != '/dashboard' && path != '/dashboard.js' && !path.startsWith('/api/')) return false
    const given = path == '/dashboard' ? query.get('token') : null
    if (!allowed(req, access, given)) {
      if (path.startsWith('/api/'))
        json(res, 401, { error: 'the console needs its token: Authorization: Bearer <token>, or the cookie /dashboard?token=<token> sets' }, { 'WWW-Authenticate': 'Bearer' })
      else
        res
          .writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' })
          .end('The console needs its token: open /dashboard?token=<token> (npm start prints the whole address; signet collector uses SIGNET_DASHBOARD_TOKEN).')
      return true
    }
    // The token goes from the address bar into a cookie the page's own requests carry.
    if (given) {
      res.writeHead(302, { Location: '/dashboard', 'Set-Cookie': tokenCookie(req, access, given) }).end()
      return true
    }
    if (path == '/dashboard') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(page(projectList()))
    else if (path == '/dashboard.js')
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-store' }).end(readFileSync(join(dist, 'dashboard.js'), 'utf8'))
    else
      // A refusal is answered here; anything else goes to the door's error boundary (500, logged).
      return api(req, res, path, query).catch((err: unknown) => {
        if (err instanceof Refused) return json(res, err.status, { error: err.message })
        if (err instanceof StoreUnavailable || isUnreachable(err) || isLostConnection(err)) return json(res, 503, { error: 'the store cannot be reached now; try again in a moment' }, { 'Retry-After': '5' })
        throw err
      })
    return true
  }
}
