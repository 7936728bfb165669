// @vitest-environment node
import { afterEach, describe, expect, it } from 'vitest'
import { checkBatch, type ProjectConfig } from '../../src/server/verify/batch'
import { personSignature } from '../../src/server/verify/signature'
import type { Store } from '../../src/server/store/store'
import { DATABASES, open } from './databases'

// GoSquared's transactions at the collector: validated, signed like every event, one per transaction
// id and maker (issue 24: a verified person's order cannot be claimed by anyone else before them).
const SECRET = 'tx-secret'
const projects: Record<string, ProjectConfig> = { P: { secureMode: 'enforce', secrets: [SECRET] } }
const tx = (id: string, name: string, props: unknown = { revenue: 30, quantity: 3, items: [] }) => ({
  id,
  type: 'transaction',
  name,
  ts: Date.now(),
  anonymousId: 'x',
  personId: 'a',
  signature: personSignature(SECRET, 'a'),
  props,
  })
const check = (events: unknown[], project = 'P') => checkBatch(projects, { v: 1, project, events })

let stores: Store[] = []
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()))
  stores = []
  })

it('validates a transaction: its id, and its totals as numbers', () => {
  const r = check([tx('e1', 'order-41'), tx('e2', ''), tx('e3', 'x'.repeat(126)), tx('e4', 'o', { revenue: '30', quantity: 3 }), tx('e5', 'o', null)])
  expect(r.accepted.map((e) => [e.id, e.verdict])).toEqual([['tx:v:1:a:order-41', 'verified']])
  expect(r.rejected.map((e) => [e.id, e.reason])).toEqual([
    ['e2', 'invalid_event'],
    ['e3', 'invalid_event'],
    ['e4', 'invalid_event'],
    ['e5', 'invalid_event'],
  ])
  expect(check([{ ...tx('e6', 'o'), signature: undefined }]).rejected[0].reason).toBe('missing_signature')
  })

for (const engine of DATABASES)
  describe.skipIf(engine.skip)(engine.name, () => {
    it("keeps one transaction per order and maker: the same order again is one, another's under its id is kept apart, and the same maker's with other totals is a conflict", async () => {
      const db = await engine.make()
      const store = await open(db)
      stores.push(store)
      const first = check([tx('e1', 'order-41')]).accepted
      const shownAgain = check([{ ...tx('e2', 'order-41'), ts: Date.now() + 5000 }]).accepted
      const otherTotals = check([tx('e3', 'order-41', { revenue: 60, quantity: 6, items: [] })]).accepted
      const anonymous = checkBatch(projects, { v: 1, project: 'P', events: [{ ...tx('e4', 'order-41'), personId: undefined, signature: undefined }] }).accepted
      const otherProject = checkBatch({ ...projects, Q: projects.P }, { v: 1, project: 'Q', events: [tx('e5', 'order-41')] }).accepted
      expect(await store.add(first)).toEqual(['stored'])
      expect(await store.add(shownAgain)).toEqual(['repeat'])
      expect(await store.add(otherTotals)).toEqual(['conflict'])
      expect(await store.add(anonymous)).toEqual(['stored'])
      expect(await store.add(otherProject)).toEqual(['stored'])
      const lines: { project: string; id: string; props: { revenue: number } }[] = []
      for await (const line of store.lines()) lines.push(JSON.parse(line))
      expect(lines.map((e) => [e.project, e.id, e.props.revenue])).toEqual([
        ['P', 'tx:v:1:a:order-41', 30],
        ['P', 'tx:u:1:x:order-41', 30],
        ['Q', 'tx:v:1:a:order-41', 30],
      ])
    })
  })
