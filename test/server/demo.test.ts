// @vitest-environment node
import { connect } from 'node:net'
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createCollector } from '../../src/server/http/collector'
import { trustedProxies } from '../../src/server/http/budget'
import { createDemo, type DashboardAccess } from '../../src/server/demo/demo'
import { createFeed } from '../../src/server/console/feed'
import { personSignature, verifySignature } from '../../src/server/verify/signature'
import { open, sqliteDatabase, type Database } from './databases'

const SECRET = 'demo-secret-never-in-a-page'
let cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

const DASHBOARD = { token: 'dash-token' }
const TOKEN_COOKIE = 'signet_dashboard=dash-token'

async function demo(db?: Database, dashboard: DashboardAccess = DASHBOARD) {
  const store = await open(db || (await sqliteDatabase()))
  const feed = createFeed()
  const collector = createCollector({ projects: { DEMO: { secureMode: 'enforce', secrets: [SECRET] } }, store, onResult: feed.publish })
  const site = createDemo({ project: 'DEMO', sign: (id) => personSignature(SECRET, id), snippet: "x.src='/tracker.js'", dist: 'dist', feed, store, dashboard })
  const url = await collector.listen(0, '127.0.0.1', site)
  cleanup.push(async () => (feed.close(), collector.close()), () => store.close())
  const get = (path: string, cookie = '') => fetch(url + path, { headers: { cookie }, redirect: 'manual' })
  const post = (events: unknown[]) => fetch(url + '/track', { method: 'POST', body: JSON.stringify({ v: 1, project: 'DEMO', sentAt: 1, events }) })
  return { url, get, post, feed }
}

/** The dashboard's stream, as its page reads it: the snapshot, then each row. */
function watch(url: string) {
  const messages: { event: string; data: any }[] = []
  const req = request(url + '/demo/stream', { headers: { cookie: TOKEN_COOKIE } })
  const opened = new Promise<string | undefined>((resolve) =>
    req.on('response', (res) => {
      resolve(res.headers['content-type'])
      let buffer = ''
      res.on('data', (d: Buffer) => {
        buffer += d
        const blocks = buffer.split('\n\n')
        buffer = blocks.pop()!
        for (const block of blocks) {
          const event = /^event: (.*)$/m.exec(block)?.[1] || 'message'
          const data = /^data: (.*)$/m.exec(block)?.[1]
          if (data) messages.push({ event, data: JSON.parse(data) })
        }
      })
    }),
  )
  req.end()
  cleanup.push(async () => req.destroy())
  const until = (n: number) => expect.poll(() => messages.length, { timeout: 5000 }).toBeGreaterThanOrEqual(n)
  return { messages, opened, until }
}

it('signs in with a session cookie and renders identify plus a signature provider, never the secret', async () => {
  const { get } = await demo()
  const login = await get('/demo/login?as=alice')
  expect(login.status).toBe(302)
  const cookie = login.headers.get('set-cookie')!.split(';')[0]
  const html = await (await get('/', cookie)).text()
  expect(html).toContain(`_gs('identify', {"id":"alice","name":"Alice"});`)
  expect(html).toContain("fetch('/demo/signature?id='")
  expect(html).toContain("x.src='/tracker.js'")
  expect(html).not.toContain(SECRET)
  expect(html).not.toContain(personSignature(SECRET, 'alice'))
})

it("signs only the signed-in person's id", async () => {
  const { get } = await demo()
  const cookie = (await get('/demo/login?as=alice')).headers.get('set-cookie')!.split(';')[0]
  const mine = await get('/demo/signature?id=alice', cookie)
  expect(await mine.text()).toBe(personSignature(SECRET, 'alice'))
  expect((await get('/demo/signature?id=bob', cookie)).status).toBe(403)
  expect((await get('/demo/signature?id=alice')).status).toBe(403)
})

it("renders a forged signature that is well-formed but not Alice's", async () => {
  const { get } = await demo()
  const html = await (await get('/')).text()
  const forged = /signature: "([0-9a-f]{64})"/.exec(html)![1]
  expect(verifySignature(SECRET, 'alice', forged)).toBe(false)
})

it('logs out, and refuses unknown demo users', async () => {
  const { get } = await demo()
  const out = await get('/demo/logout')
  expect(out.headers.get('location')).toBe('/?loggedout')
  expect(await (await get('/?loggedout')).text()).toContain("_gs('unidentify');")
  expect((await get('/demo/login?as=%3Cscript%3E')).status).toBe(400)
})

it('streams what the collector decided to the dashboard: first what the store holds, then each decision', async () => {
  const db = await sqliteDatabase()
  const first = await demo(db)
  await first.post([{ id: 'a1', type: 'pageview', ts: Date.now() + 1, anonymousId: 'x' }, { id: 'a2', type: 'identify', ts: Date.now() + 2, anonymousId: 'x', personId: 'bob', signature: personSignature(SECRET, 'bob') }])
  await first.post([{ id: 'f0', type: 'event', name: 'forged', ts: Date.now() + 1, anonymousId: 'x', personId: 'bob', signature: personSignature('guess', 'bob') }])
  for (const fn of cleanup.splice(0)) await fn()
  // After a restart, the counters and timelines come from the store.
  const { url, post } = await demo(db)
  const stream = watch(url)
  expect(await stream.opened).toBe('text/event-stream')
  await stream.until(1)
  await post([{ id: 'f1', type: 'event', name: 'forged_click', ts: Date.now() + 1, anonymousId: 'x', personId: 'alice', signature: personSignature('guess', 'alice') }])
  await post([{ id: 'a3', type: 'event', name: 'after', ts: Date.now() + 3, anonymousId: 'x', personId: 'bob', signature: personSignature(SECRET, 'bob') }])
  await stream.until(3)
  const [snapshot, ...live] = stream.messages
  expect(snapshot.event).toBe('snapshot')
  expect(snapshot.data.counts).toEqual({ stored: { anonymous: 1, verified: 1 }, rejected: { bad_signature: 1 } })
  expect(snapshot.data.rows.map((r: { id: string }) => r.id)).toEqual(['a1', 'a2'])
  expect(Object.keys(snapshot.data.timelines)).toEqual(['bob'])
  expect(live.map(({ data: r }) => [r.verdict, r.reason, r.person, r.type, r.name])).toEqual([
    ['rejected', 'bad_signature', 'alice', 'event', 'forged_click'],
    ['verified', undefined, 'bob', 'event', 'after'],
  ])
})

it('drops a dashboard that stops reading instead of buffering for it, and keeps serving the others', async () => {
  const { url, post, feed } = await demo()
  const reader = watch(url)
  await reader.until(1)
  // A subscriber that connects and never reads what it is sent.
  const { port } = new URL(url)
  const idle = connect(Number(port), '127.0.0.1')
  idle.pause()
  idle.write(`GET /demo/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ${TOKEN_COOKIE}\r\n\r\n`)
  cleanup.push(async () => idle.destroy())
  await expect.poll(() => feed.subscribers()).toBe(2)
  // Rows as the collector publishes them, many at once: the kernel's socket buffers (megabytes on
  // loopback) fill first, then what the server holds unsent.
  const rows = (i: number) =>
    Array.from({ length: 1000 }, (_, j) => ({ id: `e${i}-${j}`, type: 'event', name: 'n'.repeat(250), ts: Date.now() + 1, time: 1, anonymousId: 'x', project: 'DEMO', receivedAt: 1, verdict: 'anonymous' }) as const)
  for (let i = 0; i < 200 && feed.subscribers() > 1; i++) {
    feed.publish([...rows(i)], [])
    await new Promise((r) => setTimeout(r, 5))
  }
  // Dropped by the server (the paused client itself notices nothing until it reads again).
  expect(feed.subscribers()).toBe(1)
  await post([{ id: 'after', type: 'pageview', ts: Date.now() + 1, anonymousId: 'x' }])
  await expect.poll(() => reader.messages.some((m) => m.data.id == 'after'), { timeout: 10_000 }).toBe(true)
}, 30_000)

describe('dashboard access', () => {
  // A raw request, so the Host header is the test's to choose (fetch sets its own).
  const raw = (url: string, path: string, host: string, cookie = '') =>
    new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(url + path, { headers: { host, ...(cookie && { cookie }) } }, (res) => {
        resolve({ status: res.statusCode!, headers: res.headers })
        res.destroy()
      })
      req.on('error', reject).end()
    })

  it('answers nobody without its token, not even this machine: behind a reverse proxy every request comes from it', async () => {
    const { url } = await demo()
    const port = new URL(url).port
    for (const path of ['/dashboard', '/dashboard.js', '/demo/stream']) {
      expect((await raw(url, path, `127.0.0.1:${port}`)).status).toBe(403)
      expect((await raw(url, path, `localhost:${port}`, 'signet_dashboard=wrong')).status).toBe(403)
    }
  })

  it('wants the token once in the address, then keeps it in an HttpOnly cookie, under whatever name the proxy in front gives it', async () => {
    const { url } = await demo()
    expect((await raw(url, '/dashboard?token=wrong', 'stats.example')).status).toBe(403)
    const given = await raw(url, '/dashboard?token=dash-token', 'stats.example')
    expect(given.status).toBe(302)
    const cookie = String(given.headers['set-cookie']).split(';')[0]
    expect(String(given.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict$/)
    expect((await raw(url, '/dashboard', 'stats.example', cookie)).status).toBe(200)
    expect((await raw(url, '/demo/stream', 'stats.example', cookie)).status).toBe(200)
    // The site itself is not behind the token.
    expect((await raw(url, '/', 'stats.example')).status).toBe(200)
  })

  it('marks the cookie Secure when a trusted proxy says the request came over HTTPS', async () => {
    const { url } = await demo(undefined, { token: 'dash-token', trustProxy: trustedProxies(['127.0.0.1']) })
    const over = (proto: string) =>
      new Promise<string>((resolve, reject) =>
        request(url + '/dashboard?token=dash-token', { headers: { 'x-forwarded-proto': proto } }, (res) => {
          resolve(String(res.headers['set-cookie']))
          res.destroy()
        })
          .on('error', reject)
          .end(),
      )
    expect(await over('https')).toMatch(/; Secure$/)
    expect(await over('http')).not.toContain('Secure')
    const { url: plain } = await demo()
    const untrusted = await new Promise<string>((resolve) =>
      request(plain + '/dashboard?token=dash-token', { headers: { 'x-forwarded-proto': 'https' } }, (res) => resolve(String(res.headers['set-cookie']))).end(),
    )
    expect(untrusted).not.toContain('Secure')
  })
})
