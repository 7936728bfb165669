// @vitest-environment node
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { StoredEvent } from '../../src/server/verify/batch'
import { importJsonl, storedRecord } from '../../src/server/store/import'
import type { Store } from '../../src/server/store/store'
import { open, sqliteDatabase } from './databases'

let stores: Store[] = []
afterEach(async () => {
  await Promise.all(stores.map((s) => s.close()))
  stores = []
})

const record = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'event',
  name: 'click',
  ts: 1,
  anonymousId: 'a',
  page: { url: 'https://site.test/', title: 'T', referrer: '' },
  project: 'P',
  receivedAt: 1_700_000_000_000,
  verdict: 'anonymous',
  ip: '127.0.0.1',
  ...extra,
})

async function setup(lines: string) {
  const dir = mkdtempSync(join(tmpdir(), 'signet-import-'))
  const file = join(dir, 'events.jsonl')
  writeFileSync(file, lines)
  const store = await open(await sqliteDatabase())
  stores.push(store)
  const stored = async () => {
    const out: StoredEvent[] = []
    for await (const line of store.lines()) out.push(JSON.parse(line))
    return out
  }
  return { file, store, stored }
}

it("imports an earlier collector's JSONL: each record once, cleaned, the file renamed so it is not imported twice", async () => {
  const lines = [
    JSON.stringify(record('a', { personId: 'u', verdict: 'verified', padding: 'x'.repeat(5000), page: { url: 'https://site.test/', title: 'T', referrer: '', html: '<p>' } })),
    '',
    JSON.stringify(record('b')),
    'not json',
    JSON.stringify(record('c', { verdict: 'made_up' })),
    JSON.stringify(record('d', { signature: 'ab'.repeat(32) })),
    JSON.stringify(record('b')),
    JSON.stringify(record('e')).slice(0, 40),
  ].join('\r\n')
  const { file, store, stored } = await setup(lines)
  expect(await importJsonl(file, store)).toEqual({ imported: 2, present: 1, skipped: 4, renamedTo: file + '.imported' })
  expect(existsSync(file)).toBe(false)
  expect(readFileSync(file + '.imported', 'utf8')).toBe(lines)
  const events = await stored()
  expect(events.map((e) => e.id)).toEqual(['a', 'b'])
  // Those collectors kept no corrected time: the device's own ts stands for it.
  expect(events[0]).toEqual(record('a', { personId: 'u', verdict: 'verified', time: 1 }))
  expect(await store.counts('P')).toEqual({ stored: { verified: 1, anonymous: 1 }, rejected: {} })
  expect(await importJsonl(file, store)).toBeUndefined()
})

it('imported again after a crash halfway, stores nothing twice, and keeps the earlier renamed file', async () => {
  const lines = Array.from({ length: 1200 }, (_, i) => JSON.stringify(record(`e${i}`))).join('\n') + '\n'
  const { file, store, stored } = await setup(lines)
  await store.add(Array.from({ length: 700 }, (_, i) => record(`e${i}`) as StoredEvent))
  writeFileSync(file + '.imported', 'an older import')
  const result = await importJsonl(file, store)
  expect(result).toMatchObject({ imported: 500, present: 700, skipped: 0 })
  expect(result!.renamedTo).toMatch(/events\.jsonl\.imported-\d{4}-/)
  expect(readFileSync(file + '.imported', 'utf8')).toBe('an older import')
  expect(await stored()).toHaveLength(1200)
})

it('skips a line longer than any record without holding it, and goes on with the next', async () => {
  const long = '{"id":"' + 'x'.repeat(3 * 1024 * 1024) + '"}'
  const { file, store, stored } = await setup([JSON.stringify(record('before')), long, JSON.stringify(record('after'))].join('\n'))
  expect(await importJsonl(file, store)).toMatchObject({ imported: 2, skipped: 1 })
  expect((await stored()).map((e) => e.id)).toEqual(['before', 'after'])
})

it('reads a record as the collector cleans an event, refusing what it would refuse', () => {
  expect(storedRecord(JSON.stringify(record('ok', { ip: undefined })))).toEqual(record('ok', { ip: undefined, time: 1 }))
  // A record exported by a collector that corrected the time keeps it.
  expect(storedRecord(JSON.stringify(record('ok', { time: 7 })))).toEqual(record('ok', { time: 7 }))
  for (const bad of [record('x', { project: 5 }), record('x', { receivedAt: 'now' }), record('x', { ip: 'i'.repeat(65) }), record('x\u0000y'), record('x', { props: { big: 'p'.repeat(9000) } })])
    expect(storedRecord(JSON.stringify(bad)), JSON.stringify(bad).slice(0, 80)).toBeUndefined()
})
