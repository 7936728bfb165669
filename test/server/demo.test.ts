// @vitest-environment node
import { request } from 'node:http'
import { afterEach, expect, it } from 'vitest'
import { createCollector, type Collector } from '../../src/server/collector'
import { createDemo } from '../../src/server/demo'
import { createFeed } from '../../src/server/feed'
import { personSignature, verifySignature } from '../../src/server/signature'

const SECRET = 'demo-secret-never-in-a-page'
let open: Collector[] = []
afterEach(async () => {
  await Promise.all(open.map((c) => c.close()))
  open = []
})

async function demo() {
  const feed = createFeed()
  const collector = createCollector({ projects: { DEMO: { secureMode: 'enforce', secrets: [SECRET] } }, onResult: feed.publish })
  open.push(collector)
  const site = createDemo({ project: 'DEMO', sign: (id) => personSignature(SECRET, id), snippet: "x.src='TRACKER_URL'", dist: 'dist', feed })
  const url = await collector.listen(0, '127.0.0.1', site)
  const get = (path: string, cookie = '') => fetch(url + path, { headers: { cookie }, redirect: 'manual' })
  return { url, get }
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

it('streams what the collector decided to the dashboard, history first, over server-sent events', async () => {
  const { url } = await demo()
  const post = (events: unknown[]) => fetch(url + '/track', { method: 'POST', body: JSON.stringify({ v: 1, project: 'DEMO', sentAt: 1, events }) })
  await post([{ id: 'a1', type: 'pageview', ts: 1, anonymousId: 'x' }])
  const lines: string[] = []
  const req = request(url + '/demo/stream')
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      expect(res.headers['content-type']).toBe('text/event-stream')
      res.on('data', (d: Buffer) => {
        lines.push(...String(d).split('\n').filter((l) => l.startsWith('data: ')))
        if (lines.length >= 2) resolve()
      })
    })
  })
  req.end()
  await new Promise((r) => setTimeout(r, 100))
  await post([{ id: 'f1', type: 'event', name: 'forged_click', ts: 1, anonymousId: 'x', personId: 'alice', signature: personSignature('guess', 'alice') }])
  await done
  req.destroy()
  const rows = lines.map((l) => JSON.parse(l.slice(6)))
  expect(rows.map((r) => [r.verdict, r.reason, r.person, r.type, r.name])).toEqual([
    ['anonymous', undefined, undefined, 'pageview', undefined],
    ['rejected', 'bad_signature', 'alice', 'event', 'forged_click'],
  ])
})
