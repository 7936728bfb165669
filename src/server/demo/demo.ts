import type { Route } from '../http/door'
import { scriptJson } from '../http/snippet'

export interface DemoOptions {
  project: string
  /** Signs a person id the way the project verifies it; without one (Secure Mode off, no secret), people are identified unsigned. */
  sign?: (id: string) => string
  /** The loader snippet, pointed at /tracker.js. */
  snippet: string
}

const USERS: Record<string, string> = { alice: 'Alice', bob: 'Bob' }
const COOKIE = 'signet_demo_user'

const html = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const STYLE = `body{font:15px system-ui,sans-serif;margin:2rem;max-width:60rem;color:#1b1f24}a,button{margin:0 .6rem .4rem 0}
button{font:inherit;padding:.3rem .7rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
.verified{color:#087f23}.anonymous,.unchecked{color:#555}.rejected,.bad_signature,.missing_signature,.expired_signature{color:#b00020}
`

/**
 * The demo site, the way a real site does Secure Mode: its server knows who is signed in (a cookie
 * here) and signs only that person's id, on request of the tracker's signature provider; the secret
 * stays on the server. What the collector decided is in the operator's console, beside it.
 */
export function createDemo({ project, sign, snippet }: DemoOptions): Route {
  return (req, res, { path, query }) => {
    const user = /(?:^|;\s*)signet_demo_user=(\w+)/.exec(req.headers.cookie || '')?.[1]
    const person = user && USERS[user] ? user : undefined
    const redirect = (to: string, cookie: string) => res.writeHead(302, { Location: to, 'Set-Cookie': cookie }).end()
    const page = (body: string, type = 'text/html; charset=utf-8', status = 200) =>
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body)

    switch (path) {
      case '/favicon.ico':
        res.writeHead(204).end()
        return true
      case '/demo/login': {
        const as = query.get('as') || ''
        if (!USERS[as]) page('unknown demo user', 'text/plain', 400)
        else redirect('/', `${COOKIE}=${as}; Path=/; HttpOnly; SameSite=Lax`)
        return true
      }
      case '/demo/logout':
        redirect('/?loggedout', `${COOKIE}=; Path=/; Max-Age=0`)
        return true
      case '/demo/signature':
        // Signs for the signed-in person only: asking for anyone else's id gets nothing.
        if (!sign || !person || query.get('id') != person) page('not signed in as that person', 'text/plain', 403)
        else page(sign(person), 'text/plain')
        return true
      case '/':
        break
      default:
        return false
    }
    if (req.method != 'GET') return false
    const calls = [`_gs(${scriptJson(project)});`]
    if (query.has('loggedout')) calls.push(`_gs('unidentify');`)
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
<a href="/dashboard" target="_blank">open the console</a> (with the address npm start printed, once, for its token)</p>
<p><button id="track" onclick="_gs('event', 'demo_click', {at: new Date().toISOString()})">Track an event</button>
<button id="buy" onclick="_gs('transaction', 'order-' + Date.now(), {}, [{name: 'Socks', price: 4.5, quantity: 2}])">Buy two pairs of socks</button>
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
