// @vitest-environment node
// record.ts: how both engines keep an event in schema 3. Every record reads back as it was stored,
// whatever it holds; two rows are one event sent twice exactly when store.ts's sameEvent says so.
import { describe, expect, it } from 'vitest'
import { decodeEvent, encodeEvent, idKey, idOfKey, sameRow, toRow } from '../../src/server/store/record'
import { sameEvent } from '../../src/server/store/store'

const at = 1_796_000_000_000
const base = { id: '0192f3a4b5c6d7e8f9a0b1c2d3e4f5a6', type: 'pageview', ts: at - 30, time: at, anonymousId: 'anon', project: 'P', receivedAt: at, verdict: 'verified' }
const roundTrip = (record: Record<string, unknown>) => decodeEvent(encodeEvent(record))

describe('record', () => {
  it('reads back every record as it was stored, whatever it holds', () => {
    const records: Record<string, unknown>[] = [
      base,
      { ...base, personId: 'alice', name: 'buy', props: { a: [1, { b: null }], '': 'x' }, page: { url: 'u', title: '\ud83d', referrer: '\u0000' }, ip: '::1' },
      // What no column holds: a ts a month off, a float time, an unknown type and verdict, an empty
      // page, a page with a number, a key of its own named "__proto__".
      { ...base, ts: at - 40 * 86_400_000, time: at + 0.5, type: 'future', verdict: 'someday' },
      { ...base, page: {} },
      { ...base, page: { url: 'u', title: 5 } },
      JSON.parse(`{"id":"x","project":"P","receivedAt":${at},"__proto__":{"polluted":true},"extra":[1]}`),
    ]
    for (const record of records) expect(JSON.parse(JSON.stringify(roundTrip(record)))).toEqual(JSON.parse(JSON.stringify(record)))
    const odd = roundTrip(records[5])
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype)
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined()
    expect(JSON.stringify(odd)).toContain('"__proto__":{"polluted":true}')
  })

  it('keeps the tracker\'s ids in 17 bytes and any other id as its text, never one for the other', () => {
    expect(idKey(base.id)).toHaveLength(17)
    for (const id of [base.id, base.id.toUpperCase(), 'tx:v:5:alice:o-1', '01' + 'a'.repeat(30), 'ü'.repeat(8)]) expect(idOfKey(idKey(id))).toBe(id)
    expect(idKey(base.id).equals(idKey(base.id.toUpperCase()))).toBe(false)
  })

  it('judges two rows one event sent twice as sameEvent judges their records', () => {
    // A dictionary: one number per kind and string.
    const numbers = new Map<string, number>()
    const number = (key: string) => numbers.get(key) ?? numbers.set(key, numbers.size + 1).get(key)!
    const row = (r: Record<string, unknown>) => toRow(encodeEvent(r), encodeEvent(r).strings.map((v, k) => (v === null ? null : number(`${k} ${v}`))))
    const later = { ...base, receivedAt: at + 60_000, time: at + 60_000, ip: '10.0.0.0' }
    const pairs: [Record<string, unknown>, Record<string, unknown>][] = [
      [base, later],
      [base, { ...later, ts: base.ts + 1 }],
      [base, { ...later, verdict: 'bad_signature' }],
      [base, { ...later, props: { a: 1 } }],
      [{ ...base, type: 'transaction', name: 'o' }, { ...later, type: 'transaction', name: 'o', ts: 5, page: {} }],
      [{ ...base, ts: at - 40 * 86_400_000 }, { ...later, ts: at - 40 * 86_400_000 }],
    ]
    for (const [a, b] of pairs) expect(sameRow(row(a), row(b))).toBe(sameEvent(JSON.stringify(a), JSON.stringify(b)))
    expect(pairs.map(([a, b]) => sameEvent(JSON.stringify(a), JSON.stringify(b)))).toEqual([true, false, false, false, true, true])
  })
})
