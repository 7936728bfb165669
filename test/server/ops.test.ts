// @vitest-environment node
// Issue 31: the pure rules of operations (backoff, log lines) and the store's guard over a real SQLite store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/server/ops/backoff'
import { textLine, throttled } from '../../src/server/ops/log'
import { guardStore, isLostConnection, isUnreachable, StoreUnavailable } from '../../src/server/store/guard'
import { openStore } from '../../src/server/store/open'

describe('backoffDelay', () => {
  it('doubles from its base to its cap, drawn in the upper half of each step', () => {
    const range = (n: number) => [backoffDelay(n, { baseMs: 250, capMs: 5000 }, () => 0), backoffDelay(n, { baseMs: 250, capMs: 5000 }, () => 1)]
    expect([1, 2, 3, 4, 5, 6, 50].map(range)).toEqual([
      [125, 250],
      [250, 500],
      [500, 1000],
      [1000, 2000],
      [2000, 4000],
      [2500, 5000],
      [2500, 5000],
    ])
  })
})

describe('log lines', () => {
  it('as text: an ISO time, a level, the line, and its fields', () => {
    expect(textLine('{"level":"warn","time":"2026-12-06T09:36:24.123Z","pid":7,"role":"worker","msg":"lost","request":"ab-1","path":"/x y"}\n')).toBe(
      '2026-12-06T09:36:24.123Z WARN  lost (request=ab-1, path="/x y")\n',
    )
  })

  it('a burst is one line, and how many more came is said with the next', () => {
    let now = 0
    const lines: string[] = []
    const log = throttled((line: string) => lines.push(line), 10_000, () => now)
    for (let i = 0; i < 5; i++) log(`failed ${i}`)
    now = 10_000
    log('failed again')
    expect(lines).toEqual(['failed 0', 'failed again (and 4 more like it before)'])
  })
})

describe('the store guard', () => {
  it('tells errors that say the database cannot be reached from a connection lost and from a wrong operation', () => {
    const err = (code: string, message = '') => Object.assign(new Error(message), { code })
    for (const e of [err('ECONNREFUSED'), err('57P03'), err('SQLITE_FULL'), err('SQLITE_IOERR_WRITE'), new Error('timeout exceeded when trying to connect')]) expect(isUnreachable(e)).toBe(true)
    for (const e of [err('57P01'), err('ECONNRESET'), new Error('Connection terminated unexpectedly')]) expect([isUnreachable(e), isLostConnection(e)]).toEqual([false, true])
    for (const e of [err('23505'), err('SQLITE_CONSTRAINT'), new Error('malformed')]) expect([isUnreachable(e), isLostConnection(e)]).toEqual([false, false])
  })

  it('refuses operations until the store opens, trying again with backoff, then stores; one line for the wait and one for the end of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-guard-'))
    // A file where the store's folder should be: opening fails until it is removed.
    writeFileSync(join(dir, 'store'), 'in the way')
    const lines: string[] = []
    const states: string[] = []
    const store = guardStore(() => openStore({ file: join(dir, 'store', 'signet.db') }), {
      description: 'sqlite test',
      log: (line) => lines.push(line),
      retry: { baseMs: 20, capMs: 40 },
      onState: (s) => states.push(s),
    })
    await store.tried
    expect(store.state()).toBe('opening')
    await expect(store.add([])).rejects.toBeInstanceOf(StoreUnavailable)
    expect(lines[0]).toMatch(/^cannot open the store \(sqlite test\): .*; trying again in [\d.]+ s, answering 503 meanwhile$/)
    rmSync(join(dir, 'store'))
    await store.opened
    expect(store.state()).toBe('up')
    expect(await store.add([{ id: 'e1', type: 'pageview', ts: 1, time: 1, anonymousId: 'a', project: 'P', receivedAt: Date.now(), verdict: 'anonymous' }])).toEqual(['stored'])
    expect(lines[lines.length - 1]).toBe('the store (sqlite test) is open: storing events')
    expect(states).toEqual(['up'])
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  })
})
