import { gunzipSync } from 'node:zlib'
import { afterAll, afterEach, beforeEach, vi } from 'vitest'
import { createConsent } from '../src/consent'
import type { Batch } from '../src/protocol'
import { install } from '../src/router'
import { createCore, type Core } from '../src/tracker'

export interface Wire {
  /** Every batch that left, fetch and beacon alike, in order. */
  batches: Batch[]
  beacons: Batch[]
  requests: { url: string; init: RequestInit }[]
  events: () => Batch['events']
  warnings: string[]
  /**
   * How the next fetch is answered ('network': it fails; 'hang': it never answers, until the tracker
   * aborts it); body may be made from the batch sent.
   */
  answer: (status: number | 'network' | 'hang', body?: unknown | ((batch: Batch) => unknown)) => void
}

// A tracker's timers (a retry's backoff, the auth timeout) outlive the test that made it, and the
// file: one that fired once its page was torn down threw into a later file's run (a retry's send:
// "self is not defined", beside stress-ng). What a file leaves is cleared when it ends.
type Timers = Pick<typeof globalThis, 'setTimeout' | 'setInterval' | 'clearTimeout' | 'clearInterval'>
const real: Timers = { setTimeout, setInterval, clearTimeout, clearInterval }
const left = new Set<unknown>()
const tracked = (make: typeof setTimeout | typeof setInterval, once: boolean) =>
  ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = make(() => {
      if (once) left.delete(timer)
      fn(...args)
    }, ms)
    left.add(timer)
    return timer
  }) as never
const cleared = (clear: typeof clearTimeout) => ((timer: never) => (left.delete(timer), clear(timer))) as never
Object.assign(globalThis, {
  setTimeout: tracked(real.setTimeout, true),
  setInterval: tracked(real.setInterval, false),
  clearTimeout: cleared(real.clearTimeout),
  clearInterval: cleared(real.clearInterval),
})
afterAll(() => {
  left.forEach((timer) => real.clearTimeout(timer as never))
  left.clear()
  Object.assign(globalThis, real)
})

/** A request body as the collector reads it: gzip (an ArrayBuffer, from CompressionStream) or JSON text. */
export const bodyText = (body: unknown) => (body instanceof ArrayBuffer ? gunzipSync(Buffer.from(body)).toString() : (body as string))

/** Bytes on the wire of a request body. */
export const bodyBytes = (body: unknown) => (body instanceof ArrayBuffer ? body.byteLength : Buffer.byteLength(body as string))

/** A fresh page for the next test: empty storage, no _gs, and what crosses the wire recorded from now on. */
export function freshPage(options?: { compress?: boolean }): Wire {
  localStorage.clear()
  delete (window as { _gs?: unknown })._gs
  return recordWire(options)
}

/**
 * Records what would cross the wire: fetch and sendBeacon are replaced, console.warn captured.
 * Unless `compress`, the page has no CompressionStream (as in browsers before 2023), so requests
 * go as JSON: compression finishes on Node's thread pool, which tests on fake timers do not wait for.
 */
export function recordWire({ compress = false } = {}): Wire {
  if (!compress) vi.stubGlobal('CompressionStream', undefined)
  const wire: Wire = {
    batches: [],
    beacons: [],
    requests: [],
    events: () => wire.batches.flatMap((b) => b.events),
    warnings: [],
    answer: (status, body) => answers.push([status, body]),
  }
  const answers: [number | 'network' | 'hang', unknown][] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      // A collector nobody reaches: for pages that must not deliver anything themselves.
      if (url.includes('unreachable.test')) throw new TypeError('Failed to fetch')
      wire.requests.push({ url, init })
      const batch: Batch = JSON.parse(bodyText(init.body))
      wire.batches.push(batch)
      const [status, body] = answers.shift() || [200, (b: Batch) => ({ accepted: b.events.length, rejected: [] })]
      if (status == 'network') throw new TypeError('Failed to fetch')
      if (status == 'hang')
        return new Promise((_, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))))
      return new Response(JSON.stringify((typeof body == 'function' ? body(batch) : body) ?? {}), { status })
    }),
  )
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: vi.fn((_url: string, body: string) => {
      const batch = JSON.parse(body)
      wire.batches.push(batch)
      wire.beacons.push(batch)
      return true
    }),
  })
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void wire.warnings.push(args.join(' ')))
  return wire
}

/**
 * Loads a tracker the way dist/tracker.js does (src/index.ts), without src/lifecycle.ts: no timers or
 * window listeners, so trackers of earlier tests in this window stay quiet. A test stands in for the
 * page's events: tracker.departing() is the page being hidden, beat() a heartbeat, leave() pagehide.
 */
export function loadTracker(endpoint = 'https://collector.test/track') {
  let created: Core | undefined
  install(window as unknown as { _gs?: never }, (name) => {
    const tracker = createCore(name, endpoint, createConsent())
    if (!name) created = tracker
    return tracker
  })
  return (loadTracker.last = created)
}
loadTracker.last = undefined as Core | undefined

/** The snippet's stub, as the built snippet defines it. */
export function stub() {
  const w = window as unknown as { _gs: { (...a: unknown[]): void; q?: IArguments[] } }
  w._gs = function () {
    ;(w._gs.q = w._gs.q || []).push(arguments)
  }
  return w._gs
}

export const gs = (...args: unknown[]) => (window as unknown as { _gs: (...a: unknown[]) => void })._gs(...args)

/** Lets microtasks and the tracker's short flush timer run. */
export const settle = () => new Promise((r) => setTimeout(r, 60))

/** A new page load on the same site: same storage, a fresh tracker started for GSN-1. */
export function reload(options: object | false = false) {
  delete (window as { _gs?: unknown })._gs
  loadTracker()
  gs('GSN-1', options)
}

/** Who an event tracked now is stamped for, once `wait` has let it go. */
export async function lastStamp(wire: Wire, wait: () => Promise<unknown> = settle) {
  gs('event', 'probe')
  await wait()
  const { anonymousId, personId, signature } = wire.events().at(-1)!
  return { anonymousId, personId, signature }
}

/** Lets microtasks and the tracker's short flush timer run, on fake timers. */
export const flushed = () => vi.advanceTimersByTimeAsync(60)

/**
 * Every test of the file on a fresh page and fake timers (setTimeout, clearTimeout, Date), what the
 * tracker has left to do run after it; `use` receives each test's wire.
 */
export function onFakeClock(use: (wire: Wire) => void) {
  beforeEach(() => {
    use(freshPage())
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })
  afterEach(async () => {
    await flushed()
    vi.useRealTimers()
  })
}
