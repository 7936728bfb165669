import { timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import type { BlockList } from 'node:net'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { trusts } from '../http/budget'
import type { Handler } from '../http/collector'
import { storedRow, type Feed, type FeedRow } from '../console/feed'
import { scriptJson } from '../http/snippet'
import type { Store } from '../store/store'

export interface DemoOptions {
  project: string
  /** Signs a person id the way the project verifies it; without one (Secure Mode off, no secret), people are identified unsigned. */
  sign?: (id: string) => string
  /** The loader snippet, pointed at /tracker.js. */
  snippet: string
  /** The build folder, where dashboard.js is. */
  dist: string
  feed: Feed
  /** Where the dashboard reads its counters and timelines, so they are the same after a restart and across workers. */
  store: Store
  /** Who may see the dashboard: see dashboardAllowed. */
  dashboard: DashboardAccess
}

export interface DashboardAccess {
  /** SIGNET_DASHBOARD_TOKEN, or one made for the run: required, once as ?token=, then a cookie. */
  token: string
  /** Reverse proxies whose X-Forwarded-Proto says the request came over HTTPS (the cookie is then Secure). */
  trustProxy?: BlockList
}

const DASHBOARD_COOKIE = 'signet_dashboard'
const DASHBOARD_COOKIE_VALUE = new RegExp(`(?:^|;\\s*)${DASHBOARD_COOKIE}=([^;]*)`)

const sameText = (a: string, b: string) => a.length == b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))

/**
 * The dashboard shows who did what: it answers only a request that has its token, whatever its
 * address. (A request from this machine is no proof: behind a reverse proxy every request comes
 * from it. And a page elsewhere that rebinds its DNS to 127.0.0.1 has no token: the browser keeps
 * the dashboard's cookie for the dashboard's own host.)
 */
export function dashboardAllowed(req: IncomingMessage, { token }: DashboardAccess, given?: string | null): boolean {
  const cookie = DASHBOARD_COOKIE_VALUE.exec(req.headers.cookie || '')?.[1]
  return [given, cookie && decodeURIComponent(cookie)].some((t) => !!t && sameText(t, token))
}

/** Whether the request came over HTTPS: its own TLS, or a trusted proxy's X-Forwarded-Proto. */
const overHttps = (req: IncomingMessage, proxies?: BlockList) =>
  (req.socket as TLSSocket).encrypted || (!!proxies && trusts(proxies, req.socket.remoteAddress || '') && req.headers['x-forwarded-proto'] == 'https')

const USERS: Record<string, string> = { alice: 'Alice', bob: 'Bob' }
// What the dashboard starts from: the latest rows, and the timelines of the people in them.
const RECENT = 200
const PEOPLE = 10
const TIMELINE = 20
// Dashboards open at once, and what one that stopped reading may leave unsent before it is dropped.
const MAX_SUBSCRIBERS = 100
const MAX_UNSENT = 256 * 1024
const COOKIE = 'signet_demo_user'

const html = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE = `body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem;color:#1b1f24}a,button{margin:0 .6rem .4rem 0}
button{font:inherit;padding:.3rem .7rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
.verified{color:#087f23}.anonymous,.unchecked{color:#555}.rejected,.bad_signature,.missing_signature,.expired_signature{color:#b00020}
.count{margin-right:1rem;font-weight:600}.chip{display:inline-block;border:1px solid currentColor;border-radius:1rem;padding:0 .5rem;margin:.1rem;font-size:13px}
ul{list-style:none;padding:0}li{margin:.3rem 0}li b{display:inline-block;min-width:7rem}`

/**
 * The demo site, the way a real site does Secure Mode: its server knows who is signed in (a cookie
 * here) and signs only that person's id, on request of the tracker's signature provider; the secret
 * stays on the server. Beside it, a live dashboard of what the collector decided.
 */
export function createDemo({ project, sign, snippet, dist, feed, store, dashboard }: DemoOptions): Handler {
  const snapshot = async () => {
    const [counts, recent] = await Promise.all([store.counts(project), store.recent(project, { limit: RECENT })])
    const people = [...new Set(recent.map((e) => e.personId).filter((p) => p !== undefined))].slice(0, PEOPLE)
    const timelines = await Promise.all(people.map((person) => store.recent(project, { limit: TIMELINE, person })))
    return {
      counts,
      rows: recent.reverse().map(storedRow),
      timelines: Object.fromEntries(people.map((person, i) => [person, timelines[i].reverse().map(storedRow)])),
    }
  }

  return (req, res) => {
    const url = new URL(req.url || '/', 'http://demo')
    const user = /(?:^|;\s*)signet_demo_user=(\w+)/.exec(req.headers.cookie || '')?.[1]
    const person = user && USERS[user] ? user : undefined
    const redirect = (to: string, cookie: string) => res.writeHead(302, { Location: to, 'Set-Cookie': cookie }).end()
    const page = (body: string, type = 'text/html; charset=utf-8', status = 200) =>
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body)

    if (url.pathname == '/dashboard' || url.pathname == '/dashboard.js' || url.pathname == '/demo/stream') {
      const given = url.searchParams.get('token')
      if (!dashboardAllowed(req, dashboard, given)) {
        page('the dashboard needs its token: /dashboard?token=… (npm start prints the whole address)', 'text/plain', 403)
        return true
      }
      // The token goes from the address bar into a cookie the page's own requests carry.
      if (given) {
        const secure = overHttps(req, dashboard.trustProxy) ? '; Secure' : ''
        res.writeHead(302, { Location: url.pathname, 'Set-Cookie': `${DASHBOARD_COOKIE}=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict${secure}` }).end()
        return true
      }
    }
    switch (url.pathname) {
      case '/favicon.ico':
        res.writeHead(204).end()
        return true
      case '/demo/login': {
        const as = url.searchParams.get('as') || ''
        if (!USERS[as]) page('unknown demo user', 'text/plain', 400)
        else redirect('/', `${COOKIE}=${as}; Path=/; HttpOnly; SameSite=Lax`)
        return true
      }
      case '/demo/logout':
        redirect('/?loggedout', `${COOKIE}=; Path=/; Max-Age=0`)
        return true
      case '/demo/signature':
        // Signs for the signed-in person only: asking for anyone else's id gets nothing.
        if (!sign || !person || url.searchParams.get('id') != person) page('not signed in as that person', 'text/plain', 403)
        else page(sign(person), 'text/plain')
        return true
      case '/demo/stream': {
        if (feed.subscribers() >= MAX_SUBSCRIBERS) {
          page('too many dashboards open', 'text/plain', 503)
          return true
        }
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' })
        res.write(': live\n\n')
        // A dashboard that stops reading is dropped, not buffered for without end.
        const write = (text: string) => (res.writableLength > MAX_UNSENT ? res.destroy() : res.write(text))
        const rows = (list: FeedRow[]) => list.map((row) => `data: ${JSON.stringify(row)}\n\n`).join('')
        // Rows that arrive while the store is read are sent after what it read (the page drops a row it has).
        let early: FeedRow[] | undefined = []
        const stop = feed.subscribe(
          (list) => (early ? early.push(...list) : write(rows(list))),
          () => res.end(),
        )
        res.on('close', stop)
        snapshot().then(
          (start) => {
            write(`event: snapshot\ndata: ${JSON.stringify(start)}\n\n${rows(early!)}`)
            early = undefined
          },
          () => res.destroy(),
        )
        return true
      }
      case '/dashboard.js':
        page(readFileSync(join(dist, 'dashboard.js'), 'utf8'), 'text/javascript; charset=utf-8')
        return true
      case '/dashboard':
        page(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signet dashboard</title><style>${STYLE}</style></head>
<body><h1>Signet dashboard <small id="status">connecting…</small></h1>
<p id="counts">nothing yet</p><h2>People</h2><ul id="people"></ul>
<h2>Events, newest first</h2><table><thead><tr><th>time</th><th>person</th><th>verdict</th><th>type</th><th>name</th></tr></thead><tbody id="rows"></tbody></table>
<script src="/dashboard.js"></script></body></html>`)
        return true
      case '/':
        break
      default:
        return false
    }
    if (req.method != 'GET') return false
    const calls = [`_gs(${scriptJson(project)});`]
    if (url.searchParams.has('loggedout')) calls.push(`_gs('unidentify');`)
    if (person) {
      calls.push(`_gs('identify', ${scriptJson({ id: person, name: USERS[person] })});`)
      // The tracker asks this site's own server for the signature, as a real site's page would.
      calls.push(
        `_gs('auth', function (id) { return fetch('/demo/signature?id=' + encodeURIComponent(id)).then(function (r) { if (!r.ok) throw new Error('not signed in'); return r.text() }) });`,
      )
    }
    // What an attacker can make: a well-formed signature, but for their own id, sent under Alice's.
    const forged = sign ? sign('mallory') : '0'.repeat(64)
    page(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signet demo${person ? ' — ' + html(USERS[person]) : ''}</title><style>${STYLE}</style>
<script>${snippet}
${calls.join('\n')}</script></head>
<body><h1>Signet demo site</h1>
<p>Signed in as <b id="who">${html(person ? USERS[person] : 'nobody')}</b> · project <code>${html(project)}</code> ·
<a href="/dashboard" target="_blank">open the live dashboard</a></p>
<p><button id="track" onclick="_gs('event', 'demo_click', {at: new Date().toISOString()})">Track an event</button>
<a id="alice" href="/demo/login?as=alice">Sign in as Alice</a><a id="bob" href="/demo/login?as=bob">Switch to Bob</a>
<a id="logout" href="/demo/logout">Log out</a>
<button id="forge" onclick="forge()">Send a forged signature for Alice</button></p>
<p>The forged request is what an attacker's script could send: Alice's id with a signature made for someone else.</p>
<script>function forge() {
  fetch('/track', {method: 'POST', body: JSON.stringify({v: 1, project: ${scriptJson(project)}, sentAt: Date.now(), events: [{
    id: 'forged-' + Date.now() + '-' + Math.random().toString(16).slice(2), type: 'event', name: 'forged_click', ts: Date.now(),
    anonymousId: 'attacker', personId: 'alice', signature: ${scriptJson(forged)}, page: {url: location.href, title: document.title, referrer: ''}}]})})
}</script>
</body></html>`)
    return true
  }
}
