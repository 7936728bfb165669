// @vitest-environment node
import { afterEach, expect, it } from 'vitest'
import { createCollector } from '../../src/server/http/collector'
import { createDemo } from '../../src/server/demo/demo'
import { personSignature, verifySignature } from '../../src/server/verify/signature'
import { open, sqliteDatabase } from './databases'

// The demo site of npm start: a site that signs its signed-in person on its own server.
const SECRET = 'demo-secret-never-in-a-page'
let cleanup: (() => Promise<unknown>)[] = []
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn()
})

async function demo() {
  const store = await open(await sqliteDatabase())
  const collector = createCollector({ projects: { DEMO: { secureMode: 'enforce', secrets: [SECRET] } }, store })
  const site = createDemo({ project: 'DEMO', sign: (id) => personSignature(SECRET, id), snippet: "x.src='/tracker.js'" })
  const url = await collector.listen(0, '127.0.0.1', [['demo', site]])
  cleanup.push(() => collector.close(), () => store.close())
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
