import type { Collector, Handler } from './collector'

export interface DemoOptions {
  project: string
  /** Signs a person id the way the project verifies it; without one (Secure Mode off, no secret), people are identified unsigned. */
  sign?: (id: string) => string
  /** The built loader snippet, with TRACKER_URL still in it. */
  snippet: string
  collector: Collector
}

const USERS = ['alice', 'bob']

const html = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

// JSON inside a <script> must not be able to close the element.
const js = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c')

/**
 * A site page the way a real site does Secure Mode: the server decides who is signed in and
 * renders that person's signature into the page; the secret stays here.
 */
export function createDemo({ project, sign, snippet, collector }: DemoOptions): Handler {
  return (req, res) => {
    const url = new URL(req.url || '/', 'http://demo')
    if (url.pathname == '/favicon.ico') {
      // Browsers ask for it on every demo page; an empty answer keeps their consoles clean.
      res.writeHead(204).end()
      return true
    }
    if (url.pathname != '/' || req.method != 'GET') return false
    const user = USERS.find((u) => u == url.searchParams.get('as'))
    const forged = url.searchParams.has('forge')
    const calls = [`_gs(${js(project)});`]
    if (url.searchParams.has('logout')) calls.push(`_gs('unidentify');`)
    if (user) {
      calls.push(`_gs('identify', ${js({ id: user, name: user[0].toUpperCase() + user.slice(1) })});`)
      // A forgery: a well-formed signature for someone else's id, as an attacker could get for themselves.
      if (sign) calls.push(`_gs('auth', ${js(forged ? sign('mallory') : sign(user))});`)
    }
    const rows = collector
      .events()
      .filter((e) => e.project == project)
      .slice(-15)
      .reverse()
      .map(
        (e) =>
          `<tr><td>${html(new Date(e.receivedAt).toLocaleTimeString())}</td><td>${html(e.personId || 'anonymous')}</td>` +
          `<td class="${html(e.verdict)}">${html(e.verdict)}</td><td>${html(e.type)}</td><td>${html(e.name || '')}</td></tr>`,
      )
      .join('')
    const stats = Object.entries(collector.stats())
      .map(([k, n]) => `${html(k)}: ${n}`)
      .join(' · ')
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' })
    res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signet demo${user ? ' — ' + html(user) : ''}</title>
<style>body{font:15px system-ui,sans-serif;margin:2rem;max-width:56rem}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}.verified{color:#087f23}.anonymous{color:#555}
.bad_signature,.missing_signature{color:#b00020}a,button{margin-right:.6rem}</style>
<script>${snippet.replace('TRACKER_URL', '/tracker.js')}
${calls.join('\n')}</script></head>
<body><h1>Signet demo</h1>
<p>Signed in as <b>${html(user ? user + (forged ? ' (forged signature)' : '') : 'nobody')}</b> · project <code>${html(project)}</code></p>
<p><button id="event" onclick="_gs('event','demo_click',{at:new Date().toISOString()})">Track an event</button>
<a href="/?as=alice">Sign in as Alice</a><a href="/?as=bob">Sign in as Bob</a>
<a href="/?logout">Log out</a><a href="/?as=alice&amp;forge">Alice with a forged signature</a><a href="">Refresh</a></p>
<h2>Arrived at the collector</h2><p>${stats || 'nothing yet'}</p>
<table><tr><th>received</th><th>person</th><th>verdict</th><th>type</th><th>name</th></tr>${rows}</table>
</body></html>`)
    return true
  }
}
