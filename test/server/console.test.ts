// @vitest-environment node
import { connect } from 'node:net'
import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { createConsole } from '../../src/server/console/console'
import type { ConsoleAccess } from '../../src/server/console/access'
import { createFeed, type FeedMessage } from '../../src/server/console/feed'
import { trustedProxies } from '../../src/server/http/budget'
import { createCollector } from '../../src/server/http/collector'
import type { Store } from '../../src/server/store/store'
import { personSignature } from '../../src/server/verify/signature'
import { DATABASES, open, PG_URL, postgresDatabase, sqliteDatabase, type Database } from './databases'
import { startCollector } from './processes'

// Issue 25: the operator's console on every collector, its JSON endpoints behind the token.
const SECRET = 'console-secret'
const TOKEN = 'dash-token'
const BEARER = { authorization: `Bearer ${TOKEN}` }
let cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

/** A collector with its console, as `signet collector` serves them, on a store of the database given (SQLite by default). */
async function collector(db?: Database, access: ConsoleAccess = { token: TOKEN }) {
  const store = await open(db || (await sqliteDatabase()))
  const feed = createFeed()
  const lines: string[] = []
  const projects = { P: { secureMode: 'enforce' as const, secrets: [SECRET] }, Q: { secureMode: 'off' as const, secrets: [] } }
  const c = createCollector({ projects, store, onResult: feed.publish, log: (l) => lines.push(l) })
  const board = createConsole({ store, feed, access, projects: Object.keys(projects), dist: 'dist' })
  const url = await c.listen(0, '127.0.0.1', [['console', board]])
  cleanup.push(async () => (feed.close(), c.close()), () => store.close())
  const get = (path: string, headers: Record<string, string> = BEARER) => fetch(url + path, { headers, redirect: 'manual' })
  const post = (events: unknown[], project = 'P') =>
    fetch(url + '/track', { method: 'POST', body: JSON.stringify({ v: 1, project, sentAt: Date.now(), events }) }).then((r) => r.json())
  return { url, get, post, feed, store, lines }
}

let n = 0
const event = (extra: Record<string, unknown> = {}) => ({
  id: `c${++n}`,
  type: 'pageview',
  ts: Date.now(),
  anonymousId: 'anon-alice',
  page: { url: 'https://shop.test/pricing', title: 'Pricing', referrer: 'https://news.test/' },
  ...extra,
})
const signed = (person: string, extra: Record<string, unknown> = {}) => event({ personId: person, signature: personSignature(SECRET, person), ...extra })

/** The demo's story: Alice browses, signs in and buys; Bob signs in; someone forges Alice's signature. */
async function story(c: Awaited<ReturnType<typeof collector>>, store: Store) {
  await c.post([event(), signed('alice', { type: 'identify', props: { name: 'Alice' } }), signed('alice', { type: 'event', name: 'demo_click' })])
  await c.post([signed('bob', { type: 'identify', props: { name: 'Bob' }, anonymousId: 'anon-bob' })])
  await c.post([event({ type: 'event', name: 'forged_click', personId: 'alice', signature: personSignature('guess', 'alice'), anonymousId: 'attacker', page: { url: 'https://evil.test/x' } })])
  await store.rollUp()
}

describe.each(DATABASES)('the console on $name', ({ skip, make }) => {
  let db: Database
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn()
    await db?.drop()
  })

  it.skipIf(skip)('answers each view for a project and a period: overview, people, a person and their timeline, pages and events, security', async () => {
    db = await make()
    const c = await collector(db)
    await story(c, c.store)
    const overview = await (await c.get('/api/overview?project=P&period=24h')).json()
    expect(overview).toMatchObject({ project: 'P', verdicts: { anonymous: 1, verified: 3 }, rejected: { bad_signature: 1 } })
    expect(overview.days.map((d: { events: number; people: number }) => [d.events, d.people]).filter(([e]: number[]) => e)).toEqual([[4, 2]])
    // The 24 hours before, for the comparison: nothing then.
    expect(overview.previous).toEqual({ period: { from: 2 * overview.period.from - overview.period.to, to: overview.period.from }, verdicts: {}, rejected: {}, revenue: { orders: 0, total: 0 } })
    const people = await (await c.get('/api/people?project=P&period=7d')).json()
    expect(people.people.map((p: { id: string; events: number; props: unknown }) => [p.id, p.events, p.props])).toEqual([
      ['bob', 1, { name: 'Bob' }],
      ['alice', 2, { name: 'Alice' }],
    ])
    expect((await (await c.get('/api/people?project=P&prefix=al')).json()).people.map((p: { id: string }) => p.id)).toEqual(['alice'])
    expect((await (await c.get('/api/people?project=P&search=LIC')).json()).people.map((p: { id: string }) => p.id)).toEqual(['alice'])
    expect((await (await c.get('/api/people?project=P&search=name%3DBob')).json()).people.map((p: { id: string }) => p.id)).toEqual(['bob'])
    expect((await (await c.get('/api/people/alice?project=P')).json()).person).toMatchObject({ id: 'alice', events: 2 })
    expect((await c.get('/api/people/nobody?project=P')).status).toBe(404)
    const timeline = await (await c.get('/api/people/alice/events?project=P&limit=10')).json()
    expect(timeline.events.map((e: { type: string; name?: string; verdict: string }) => [e.type, e.name, e.verdict])).toEqual([
      ['event', 'demo_click', 'verified'],
      ['identify', undefined, 'verified'],
    ])
    const pages = await (await c.get('/api/pages?project=P&period=30d')).json()
    expect(pages).toMatchObject({ pages: [{ name: '/pricing', n: 1 }], events: [{ name: 'demo_click', n: 1 }], referrers: [{ name: 'news.test', n: 1 }] })
    const goals = await (await c.get('/api/goals?project=P&period=7d&name=demo_click&name=never')).json()
    expect(goals.goals.map((g: { name: string; n: number; previous: number; days: unknown[] }) => [g.name, g.n, g.previous, g.days.length])).toEqual([
      ['demo_click', 1, 0, 8],
      ['never', 0, 0, 8],
    ])
    expect((await c.get('/api/goals?project=P&' + Array.from({ length: 21 }, (_, i) => `name=g${i}`).join('&'))).status).toBe(400)
    const security = await (await c.get('/api/security?project=P')).json()
    expect(security.attempts).toEqual([
      { personId: 'alice', reason: 'bad_signature', n: 1, first: expect.any(Number), last: expect.any(Number), ips: ['127.0.0.0'], origins: ['https://evil.test'] },
    ])
    // Another project's console answers about that project only.
    expect((await (await c.get('/api/overview?project=Q')).json()).verdicts).toEqual({})
  })

  it.skipIf(skip)('forgets a person through DELETE /api/people/ID, once, and reports how many events went', async () => {
    db = await make()
    const c = await collector(db)
    await story(c, c.store)
    const forget = () => fetch(c.url + '/api/people/alice?project=P', { method: 'DELETE', headers: BEARER }).then((r) => r.json())
    expect(await forget()).toEqual({ project: 'P', person: 'alice', forgot: 3 })
    expect(await forget()).toEqual({ project: 'P', person: 'alice', forgot: 0 })
    expect((await (await c.get('/api/people?project=P')).json()).people.map((p: { id: string }) => p.id)).toEqual(['bob'])
    expect((await (await c.get('/api/security?project=P')).json()).attempts).toEqual([])
  })
})

describe('the console’s door', () => {
  const raw = (url: string, path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request(url + path, { headers }, (res) => {
        let body = ''
        res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }))
      })
      req.on('error', reject).end()
    })

  it('answers 401 to every endpoint without its token, from this machine too; never sets permissive CORS; never logs the token', async () => {
    const c = await collector()
    const paths = ['/api/projects', '/api/overview', '/api/people', '/api/people/alice', '/api/people/alice/events', '/api/pages', '/api/security', '/api/stream']
    for (const path of paths) {
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { cookie: 'signet_dashboard=wrong' }] as Record<string, string>[]) {
        const res = await raw(c.url, path, headers)
        expect(res.status, path).toBe(401)
        expect(res.headers['access-control-allow-origin']).toBeUndefined()
        expect(res.headers['www-authenticate']).toBe('Bearer')
      }
      const ok = path == '/api/stream' ? undefined : await raw(c.url, path + (path.startsWith('/api/people/') ? '' : '?project=P'), BEARER)
      if (ok) expect([200, 404]).toContain(ok.status)
      if (ok) expect(ok.headers['access-control-allow-origin']).toBeUndefined()
    }
    expect((await raw(c.url, '/dashboard')).status).toBe(401)
    expect((await raw(c.url, '/dashboard.js')).status).toBe(401)
    const deleted = await fetch(c.url + '/api/people/alice?project=P', { method: 'DELETE' })
    expect(deleted.status).toBe(401)
    // The collector's own answers keep theirs.
    expect((await fetch(c.url + '/track', { method: 'OPTIONS' })).headers.get('access-control-allow-origin')).toBe('*')
    await c.post([event({ page: { url: `https://shop.test/?token=${TOKEN}` } })])
    c.feed.close()
    expect(c.lines.join('\n')).not.toContain(TOKEN)
  })

  it('wants the token once in the address, then keeps it in an HttpOnly cookie, whatever the Host a proxy in front gives', async () => {
    const c = await collector()
    expect((await raw(c.url, '/dashboard?token=wrong', { host: 'stats.example' })).status).toBe(401)
    const given = await raw(c.url, `/dashboard?token=${TOKEN}`, { host: 'stats.example' })
    expect(given.status).toBe(302)
    const cookie = String(given.headers['set-cookie']).split(';')[0]
    expect(String(given.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict$/)
    const board = await raw(c.url, '/dashboard', { host: 'stats.example', cookie })
    expect(board.status).toBe(200)
    expect(board.body).toContain('<script src="/dashboard.js">')
    expect((await raw(c.url, '/api/projects', { cookie })).body).toBe('{"projects":["P","Q"]}')
  })

  it('marks the cookie Secure when a trusted proxy says the request came over HTTPS', async () => {
    const c = await collector(undefined, { token: TOKEN, trustProxy: trustedProxies(['127.0.0.1']) })
    const cookieOver = async (url: string, proto: string) => String((await raw(url, `/dashboard?token=${TOKEN}`, { 'x-forwarded-proto': proto })).headers['set-cookie'])
    expect(await cookieOver(c.url, 'https')).toMatch(/; Secure$/)
    expect(await cookieOver(c.url, 'http')).not.toContain('Secure')
    const plain = await collector()
    expect(await cookieOver(plain.url, 'https')).not.toContain('Secure')
  })

  it('refuses a bad period or an unknown project with a message naming it', async () => {
    const c = await collector()
    const error = async (path: string) => {
      const res = await c.get(path)
      return [res.status, (await res.json()).error]
    }
    expect(await error('/api/overview?project=P&period=1y')).toEqual([400, 'period must be 24h, 7d or 30d (or from and to), not "1y"'])
    expect(await error('/api/overview?project=P&from=2026-12-01')).toEqual([400, 'from and to go together'])
    expect(await error('/api/overview?project=P&from=yesterday&to=2026-12-01')).toEqual([400, 'from must be a day (2026-12-01) or ms since the epoch, not "yesterday"'])
    expect(await error('/api/overview?project=NOPE')).toEqual([404, 'no project "NOPE" here'])
    expect(await error('/api/people?project=P&limit=100000')).toEqual([400, 'limit must be a whole number from 0 to 500'])
    const custom = await (await c.get('/api/overview?project=P&from=2026-11-01&to=2026-11-03')).json()
    expect(custom.days.map((d: { day: string }) => d.day)).toEqual(['2026-11-01', '2026-11-02', '2026-11-03'])
  })
})

/** The live stream, as the page reads it: the snapshot, then each row. */
function watch(url: string, project = 'P') {
  const messages: { event: string; data: any }[] = []
  const req = request(`${url}/api/stream?project=${project}`, { headers: BEARER })
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
  const until = (count: number) => expect.poll(() => messages.length, { timeout: 5000 }).toBeGreaterThanOrEqual(count)
  return { messages, opened, until }
}

describe('the live feed', () => {
  it("streams what the collector decided for the project: first what the store holds, then each decision, not another project's", async () => {
    const db = await sqliteDatabase()
    const first = await collector(db)
    await first.post([event({ id: 'a1' }), signed('bob', { id: 'a2', type: 'identify' })])
    await first.post([signed('bob', { id: 'f0', type: 'event', name: 'forged', signature: personSignature('guess', 'bob') })])
    for (const fn of cleanup.splice(0)) await fn()
    // After a restart, the counters and the latest rows come from the store.
    const c = await collector(db)
    const stream = watch(c.url)
    expect(await stream.opened).toBe('text/event-stream')
    await stream.until(1)
    await c.post([event({ id: 'f1', type: 'event', name: 'forged_click', personId: 'alice', signature: personSignature('guess', 'alice') })])
    await c.post([event({ id: 'q1' })], 'Q')
    await c.post([signed('bob', { id: 'a3', type: 'event', name: 'after' })])
    await stream.until(3)
    const [snapshot, ...live] = stream.messages
    expect(snapshot.event).toBe('snapshot')
    expect(snapshot.data.counts).toEqual({ stored: { anonymous: 1, verified: 1 }, rejected: { bad_signature: 1 } })
    expect(snapshot.data.rows.map((r: { id: string }) => r.id)).toEqual(['a1', 'a2'])
    expect(live.map(({ data: r }) => [r.verdict, r.reason, r.person, r.type, r.name])).toEqual([
      ['rejected', 'bad_signature', 'alice', 'event', 'forged_click'],
      ['verified', undefined, 'bob', 'event', 'after'],
    ])
  })

  it.skipIf(!PG_URL)('with PostgreSQL, a dashboard on one collector sees what another one accepted (LISTEN/NOTIFY), each row once, bounded', async () => {
    const db = await postgresDatabase()
    cleanup.push(() => db.drop())
    const env = { SIGNET_DATABASE_URL: db.options.url!, SIGNET_PROJECT: 'P', SIGNET_SECRET: SECRET, SIGNET_DASHBOARD_TOKEN: TOKEN }
    // Two machines, as far as the collectors can tell: two processes, nothing shared but the database.
    const [a, b] = [startCollector([], env), startCollector(['--workers', '2'], env)]
    cleanup.push(() => a.stop(), () => b.stop())
    const [urlA, urlB] = (await Promise.all([a.url, b.url])).map((u) => u.replace('/track', ''))
    const stream = watch(urlA)
    await stream.until(1)
    const send = (url: string, events: unknown[]) => fetch(url + '/track', { method: 'POST', body: JSON.stringify({ v: 1, project: 'P', sentAt: Date.now(), events }) }).then((r) => r.json())
    // A's dashboard says that it watches; B sends its rows from when it hears so (each of B's
    // workers once its LISTEN connection is up: under load, seconds). Probes go to B until four in a
    // row show, whichever worker each reached.
    const shown = (id: string) => stream.messages.some((m) => m.data?.id == id)
    let row = 0
    for (let i = 0; i < 100 && row < 4; i++) {
      await send(urlB, [event({ id: `probe-${i}`, type: 'event', name: 'probe' })])
      await expect.poll(() => shown(`probe-${i}`), { timeout: 300 }).toBe(true).then(() => row++, () => (row = 0))
    }
    expect(row).toBe(4)
    // Rows that another process of the database sends, not a collector: ignored, nothing else changes.
    await db.sql(`SELECT pg_notify('signet_feed:' || current_schema(), 'not json'), pg_notify('signet_feed:' || current_schema(), '{"from":"x","rows":[{"id":{"toString":1}},{"id":"planted","time":"now","verdict":"verified","type":"x"}]}')`)
    const long = 'é'.repeat(250)
    expect(await send(urlB, [signed('bob', { id: 'on-b', type: 'event', name: 'from_b' }), signed('carol', { id: 'long', type: 'event', name: long })])).toEqual({ accepted: 2, rejected: [] })
    expect(await send(urlB, [event({ id: 'forged-b', type: 'event', name: 'x', personId: 'alice', signature: personSignature('guess', 'alice') })])).toMatchObject({ accepted: 0 })
    // 300 rows at once: more than one NOTIFY holds.
    const many = Array.from({ length: 300 }, (_, i) => event({ id: `m${i}`, type: 'event', name: 'n'.repeat(200) }))
    expect(await send(urlB, many)).toEqual({ accepted: 300, rejected: [] })
    await send(urlA, [signed('dave', { id: 'on-a', type: 'event', name: 'from_a' })])
    const rows = () => stream.messages.slice(1).filter((m) => !String(m.data?.id).startsWith('probe-')).length
    await expect.poll(rows, { timeout: 5000 }).toBeGreaterThanOrEqual(2 + 1 + 300 + 1)
    await new Promise((r) => setTimeout(r, 300))
    const live = stream.messages.slice(1).map((m) => m.data).filter((r) => !String(r.id).startsWith('probe-'))
    expect(live.map((r) => r.id).sort()).toEqual(['forged-b', 'long', 'on-a', 'on-b', ...many.map((e) => e.id)].sort())
    expect(live.find((r) => r.id == 'on-b')).toMatchObject({ verdict: 'verified', person: 'bob', name: 'from_b', project: 'P' })
    expect(live.find((r) => r.id == 'forged-b')).toMatchObject({ verdict: 'rejected', reason: 'bad_signature', person: 'alice' })
    expect(live.find((r) => r.id == 'long').name).toBe('é'.repeat(120))
  }, 30_000)

  it('sends rows to the other processes only while a dashboard is open in one of them', () => {
    const sent: FeedMessage[] = []
    const feed = createFeed((m) => sent.push(m))
    const stored = (id: string) => ({ id, type: 'event', ts: 1, time: 1, anonymousId: 'a', project: 'P', receivedAt: 1, verdict: 'anonymous' }) as const
    feed.publish([stored('nobody-watches')], [])
    expect(sent).toEqual([])
    // Another process says its dashboard is open: rows go to it.
    feed.deliver({ watching: true })
    feed.publish([stored('watched')], [])
    expect(sent).toEqual([{ rows: [expect.objectContaining({ id: 'watched' })] }])
    // A dashboard opens here: the others are told, and shown what they send.
    const shown: string[] = []
    const stop = feed.subscribe((rows) => shown.push(...rows.map((r) => r.id)), () => {})
    expect(sent.at(-1)).toEqual({ watching: true })
    feed.deliver({ rows: [{ id: 'from-another', time: 1, verdict: 'verified', type: 'event' }] })
    expect(shown).toEqual(['from-another'])
    stop()
    feed.close()
  })

  it('drops a dashboard that stops reading instead of buffering for it, and keeps serving the others', async () => {
    const c = await collector()
    const reader = watch(c.url)
    await reader.until(1)
    // A subscriber that connects and never reads what it is sent.
    const idle = connect(Number(new URL(c.url).port), '127.0.0.1')
    idle.pause()
    idle.write(`GET /api/stream?project=P HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
    cleanup.push(async () => idle.destroy())
    await expect.poll(() => c.feed.subscribers()).toBe(2)
    // Rows as the collector publishes them, many at once: the kernel's socket buffers (megabytes on
    // loopback) fill first, then what the server holds unsent.
    const rows = (i: number) =>
      Array.from({ length: 1000 }, (_, j) => ({ id: `e${i}-${j}`, type: 'event', name: 'n'.repeat(250), ts: Date.now() + 1, time: 1, anonymousId: 'x', project: 'P', receivedAt: 1, verdict: 'anonymous' }) as const)
    for (let i = 0; i < 200 && c.feed.subscribers() > 1; i++) {
      c.feed.publish([...rows(i)], [])
      await new Promise((r) => setTimeout(r, 5))
    }
    // Dropped by the server (the paused client itself notices nothing until it reads again).
    expect(c.feed.subscribers()).toBe(1)
    await c.post([event({ id: 'after' })])
    await expect.poll(() => reader.messages.some((m) => m.data.id == 'after'), { timeout: 10_000 }).toBe(true)
  }, 30_000)
})
