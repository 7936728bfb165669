// @vitest-environment node
import { afterEach, expect, it } from 'vitest'
import { createCollector, type Collector } from '../../src/server/collector'
import { createDemo } from '../../src/server/demo'
import { personSignature, verifySignature } from '../../src/server/signature'

const SECRET = 'demo-secret-never-in-a-page'
let open: Collector[] = []

afterEach(async () => {
  await Promise.all(open.map((c) => c.close()))
  open = []
})

async function page(path: string) {
  const collector = createCollector({ projects: { DEMO: { secureMode: 'enforce', secrets: [SECRET] } } })
  open.push(collector)
  const demo = createDemo({ project: 'DEMO', sign: (id) => personSignature(SECRET, id), snippet: "x.src='TRACKER_URL'", collector })
  const url = await collector.listen(0, '127.0.0.1', demo)
  const res = await fetch(url + path)
  return { status: res.status, html: await res.text() }
}

it('renders the signed-in person with a signature made on the server, never the secret', async () => {
  const { status, html } = await page('/?as=alice')
  expect(status).toBe(200)
  expect(html).toContain(`_gs('auth', "${personSignature(SECRET, 'alice')}")`)
  expect(html).toContain("x.src='/tracker.js'")
  expect(html).not.toContain(SECRET)
})

it('can render a forged signature that the collector would refuse', async () => {
  const { html } = await page('/?as=alice&forge')
  const forged = /_gs\('auth', "([0-9a-f]{64})"\)/.exec(html)![1]
  expect(verifySignature(SECRET, 'alice', forged)).toBe(false)
})

it('signs in nobody it does not know, and logs out', async () => {
  const unknown = await page('/?as=%3Cscript%3E')
  expect(unknown.html).not.toContain("_gs('identify'")
  expect(unknown.html).not.toContain('<script>alert')
  expect((await page('/?logout')).html).toContain("_gs('unidentify');")
})
