import { vi } from 'vitest'
import { createIdentity, type IdentityState } from '../src/identity'
import type { Batch } from '../src/payload'
import { install } from '../src/queue'
import { createStore } from '../src/storage'
import { createTracker } from '../src/tracker'
import { uid } from '../src/uid'

export interface Wire {
  /** Every batch that left, fetch and beacon alike, in order. */
  batches: Batch[]
  beacons: Batch[]
  requests: { url: string; init: RequestInit }[]
  events: () => Batch['events']
  warnings: string[]
  /** Status the next fetch answers with; a thrown value means a network error. */
  answer: (status: number | 'network', body?: unknown) => void
}

/** Records what would cross the wire: fetch and sendBeacon are replaced, console.warn captured. */
export function recordWire(): Wire {
  const wire: Wire = {
    batches: [],
    beacons: [],
    requests: [],
    events: () => wire.batches.flatMap((b) => b.events),
    warnings: [],
    answer: (status, body) => answers.push([status, body]),
  }
  const answers: [number | 'network', unknown][] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string, init: RequestInit) => {
      wire.requests.push({ url, init })
      wire.batches.push(JSON.parse(init.body as string))
      const [status, body] = answers.shift() || [200, { accepted: 1, rejected: [] }]
      if (status == 'network') throw new TypeError('Failed to fetch')
      return new Response(JSON.stringify(body ?? {}), { status })
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

/** Loads a tracker the way dist/tracker.js does, over whatever window._gs holds. */
export function loadTracker(endpoint = 'https://collector.test/track') {
  let tracker: ReturnType<typeof createTracker> | undefined
  install(window as unknown as Record<string, unknown>, '_gs', () => {
    tracker = createTracker(endpoint, createIdentity(createStore<IdentityState>('signet'), uid), uid)
    return tracker
  })
  return tracker
}

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
