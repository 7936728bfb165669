// @vitest-environment node
import fc from 'fast-check'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createCollector, type Collector } from '../../src/server/http/collector'
import { personSignature } from '../../src/server/verify/signature'
import type { Store } from '../../src/server/store/store'
import { open, sqliteDatabase } from './databases'

const SECRET = 'fuzz-secret'
let collector: Collector
let store: Store
let url: string

beforeAll(async () => {
  store = await open(await sqliteDatabase())
  collector = createCollector({ projects: { P: { secureMode: 'enforce', secrets: [SECRET] } }, store, maxBodyBytes: 64 * 1024 })
  url = await collector.listen()
})
afterAll(async () => {
  await collector.close()
  await store.close()
})

const post = (body: string | Uint8Array) => fetch(url + '/track', { method: 'POST', body: body as BodyInit }).then((r) => r.status)

// A valid event whose fields the fuzzer may replace with anything.
const event = fc.record(
  {
    id: fc.oneof(fc.uuid(), fc.string(), fc.constant('')),
    type: fc.oneof(fc.constantFrom('pageview', 'event', 'identify', 'properties'), fc.anything()),
    ts: fc.oneof(fc.integer(), fc.double(), fc.anything()),
    anonymousId: fc.oneof(fc.uuid(), fc.anything()),
    personId: fc.oneof(fc.constant(undefined), fc.string(), fc.anything()),
    signature: fc.oneof(fc.constant(undefined), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }), fc.anything()),
    name: fc.oneof(fc.string(), fc.anything()),
    props: fc.oneof(fc.constant(undefined), fc.object(), fc.anything()),
    page: fc.oneof(fc.constant(undefined), fc.record({ url: fc.webUrl(), title: fc.string() }), fc.anything()),
  },
  { requiredKeys: [] },
)

const plainBody = fc.oneof(
  fc.string(),
  fc.uint8Array({ maxLength: 2000 }),
  fc.json(),
  fc.anything().map((v) => JSON.stringify(v) ?? 'undefined'),
  fc
    .record({ v: fc.oneof(fc.constant(1), fc.anything()), project: fc.oneof(fc.constant('P'), fc.anything()), events: fc.array(event, { maxLength: 20 }) })
    .map((b) => JSON.stringify(b, (_k, v) => (typeof v == 'bigint' ? String(v) : v))),
  fc.constantFrom('{"v":1,"project":"P","events":[{"__proto__":{"polluted":1}}]}', '{"__proto__":{"polluted":1}}', '{"v":1,"project":"__proto__","events":[{}]}'),
)

// Every kind of body also as the tracker sends it, gzipped, and gzip cut short.
const body = fc.oneof(
  plainBody,
  plainBody.map((b) => gzipSync(b)),
  plainBody.map((b) => gzipSync(b).subarray(0, 12)),
)

it('survives thousands of random bodies, then still accepts a valid batch and has lost nothing it accepted', async () => {
  const stored = async () => {
    const lines: string[] = []
    for await (const line of store.lines()) lines.push(line)
    return lines
  }
  const signed = { id: 'first', type: 'pageview', ts: Date.now() + 1, anonymousId: 'a', personId: 'u', signature: personSignature(SECRET, 'u') }
  expect(await post(JSON.stringify({ v: 1, project: 'P', events: [signed] }))).toBe(200)
  const statuses = new Map<number, number>()
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      const status = await post(b)
      statuses.set(status, (statuses.get(status) || 0) + 1)
      expect([200, 400, 413]).toContain(status)
    }),
    { seed: 20261121, numRuns: 2000 },
  )
  console.log('collector fuzz: 2000 bodies, statuses', Object.fromEntries(statuses))
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  const valid = { id: 'last', type: 'event', name: 'still-here', ts: Date.now() + 2, anonymousId: 'a' }
  expect(await post(JSON.stringify({ v: 1, project: 'P', events: [valid] }))).toBe(200)
  const lines = (await stored()).map((l) => JSON.parse(l))
  expect(lines[0].id).toBe('first')
  expect(lines.at(-1).id).toBe('last')
  // Every stored line is a well-formed event, and each id is stored once.
  expect(new Set(lines.map((l) => l.id)).size).toBe(lines.length)
  const counts = await store.counts('P')
  expect(Object.values(counts.stored).reduce((a, b) => a + b, 0)).toBe(lines.length)
}, 60_000)
