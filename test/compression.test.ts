import { afterEach, describe, expect, it, vi } from 'vitest'
import { bodyText, freshPage, gs, loadTracker, settle, type Wire } from './harness'

let wire: Wire
afterEach(async () => {
  await settle()
})

// Real timers: compression finishes on Node's thread pool, as in a browser off the page's task.
// Props that make one event's request big enough to be compressed (1,000 characters and more).
const big = { pad: 'x'.repeat(1000) }
const until = (ready: () => boolean) => vi.waitFor(() => expect(ready()).toBe(true), { timeout: 3000, interval: 10 })

describe('compressed requests', () => {
  it('go gzipped where the browser has CompressionStream: no header says so, the first bytes do', async () => {
    wire = freshPage({ compress: true })
    loadTracker()
    gs('GSN-1', false)
    gs('identify', { id: 'a', signature: 'sig-a' })
    for (let i = 0; i < 30; i++) gs('event', `e${i}`, { i })
    await until(() => wire.events().length == 31)
    for (const { init } of wire.requests) {
      expect(init.body).toBeInstanceOf(ArrayBuffer)
      expect([...new Uint8Array(init.body as ArrayBuffer).slice(0, 2)]).toEqual([0x1f, 0x8b])
      // No Content-Type, no header at all: the request stays CORS-simple (no preflight).
      expect(init.headers).toBeUndefined()
      expect(init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'omit' })
    }
    const [batch] = wire.batches
    expect(batch).toMatchObject({ v: 1, project: 'GSN-1' })
    expect(batch.events.map((e) => e.signature)).toEqual(Array(batch.events.length).fill('sig-a'))
    expect((wire.requests[0].init.body as ArrayBuffer).byteLength).toBeLessThan(bodyText(wire.requests[0].init.body).length / 3)
  })

  it('are compressed after the calling task: _gs returns before any compressing starts', async () => {
    wire = freshPage({ compress: true })
    const made = vi.fn()
    const Native = globalThis.CompressionStream
    vi.stubGlobal(
      'CompressionStream',
      class extends Native {
        constructor(format: CompressionFormat) {
          made()
          super(format)
        }
      },
    )
    loadTracker()
    gs('GSN-1', false)
    for (let i = 0; i < 200; i++) gs('event', `e${i}`)
    expect(made).not.toHaveBeenCalled()
    await until(() => wire.events().length == 200)
    expect(made).toHaveBeenCalled()
  })

  it('leave a body under 1,000 characters as JSON: compressing one small event costs more than it saves', async () => {
    wire = freshPage({ compress: true })
    loadTracker()
    gs('GSN-1', false)
    gs('event', 'alone')
    await until(() => wire.events().length == 1)
    expect(typeof wire.requests[0].init.body).toBe('string')
    expect(bodyText(wire.requests[0].init.body).length).toBeLessThan(1000)
    gs('event', 'with-props', big)
    await until(() => wire.events().length == 2)
    expect(wire.requests[1].init.body).toBeInstanceOf(ArrayBuffer)
  })

  it('go as JSON where the browser has no CompressionStream', async () => {
    wire = freshPage()
    loadTracker()
    gs('GSN-1', false)
    gs('event', 'plain')
    await until(() => wire.events().length == 1)
    expect(typeof wire.requests[0].init.body).toBe('string')
  })

  it.each([400, 415])('to a collector that answers %i to gzip: the same batch again as JSON, and JSON from then on', async (status) => {
    wire = freshPage({ compress: true })
    wire.answer(status, { error: 'malformed JSON' })
    loadTracker()
    gs('GSN-1', false)
    gs('event', 'first', big)
    await until(() => wire.requests.length == 2)
    const [zipped, plain] = wire.requests
    expect(zipped.init.body).toBeInstanceOf(ArrayBuffer)
    expect(typeof plain.init.body).toBe('string')
    expect(wire.batches[1].events.map((e) => e.id)).toEqual(wire.batches[0].events.map((e) => e.id))
    gs('event', 'second', big)
    await until(() => wire.requests.length == 3)
    expect(typeof wire.requests[2].init.body).toBe('string')
    expect(wire.warnings).toEqual([])
  })

  it('a 400 to JSON after that is a refusal: dropped and reported, not sent again', async () => {
    wire = freshPage({ compress: true })
    wire.answer(400)
    wire.answer(400)
    loadTracker()
    const dropped = vi.fn()
    gs('GSN-1', false)
    gs('on', 'dropped', dropped)
    gs('event', 'refused', big)
    await until(() => dropped.mock.calls.length == 1)
    await settle()
    expect(wire.requests).toHaveLength(2)
    expect(dropped).toHaveBeenCalledWith({ count: 1, reason: 'http_400' })
  })

  it('leave by beacon as JSON when the page is hidden: compressing is asynchronous, and the page is going', async () => {
    wire = freshPage({ compress: true })
    wire.answer('network')
    const tracker = loadTracker()!
    gs('GSN-1', false)
    gs('event', 'before-hide', big)
    // The gzipped request fails: the event waits for its retry, and the page is hidden meanwhile.
    await until(() => wire.requests.length == 1)
    expect(wire.requests[0].init.body).toBeInstanceOf(ArrayBuffer)
    await settle()
    tracker.departing()
    expect(wire.beacons.map((b) => b.events.map((e) => e.name))).toEqual([['before-hide']])
    expect(typeof vi.mocked(navigator.sendBeacon).mock.calls[0][1]).toBe('string')
  })
})
