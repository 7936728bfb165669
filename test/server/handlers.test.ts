// @vitest-environment node
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { RejectedEvent, StoredEvent } from '../../src/server/verify/batch'
import { createSignetHandler } from '../../src/server/http/handlers'
import { readBody } from '../../src/server/http/http'
import { personSignature } from '../../src/server/verify/signature'

const SECRET = 'handler-secret'
const projects = { P: { secureMode: 'enforce' as const, secrets: [SECRET] } }
const event = (id: string, extra: Record<string, unknown> = {}) => ({ id, type: 'event', name: 'n', ts: Date.now() + 1, anonymousId: 'a', ...extra })
const batch = JSON.stringify({
  v: 1,
  project: 'P',
  sentAt: 1,
  events: [event('signed', { personId: 'u', signature: personSignature(SECRET, 'u') }), event('forged', { personId: 'u', signature: personSignature('x', 'u') }), event('anon')],
})
const EXPECTED = { accepted: 2, rejected: [{ id: 'forged', reason: 'bad_signature' }] }

function recorder() {
  const calls: { accepted: StoredEvent[]; rejected: RejectedEvent[] }[] = []
  return { calls, onEvents: (accepted: StoredEvent[], rejected: RejectedEvent[]) => void calls.push({ accepted, rejected }) }
}

const servers: ReturnType<typeof createServer>[] = []
afterEach(() => servers.splice(0).forEach((s) => s.close()))
async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

describe('createSignetHandler', () => {
  it('works as a Node http handler, handing accepted events to the callback', async () => {
    const { calls, onEvents } = recorder()
    const signet = createSignetHandler({ projects, onEvents })
    const url = await listen((req, res) => void signet.node(req, res))
    const res = await fetch(url, { method: 'POST', body: batch })
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(await res.json()).toEqual(EXPECTED)
    expect(calls[0].accepted.map((e) => [e.id, e.verdict, e.project])).toEqual([
      ['signed', 'verified', 'P'],
      ['anon', 'anonymous', 'P'],
    ])
    expect(JSON.stringify(calls[0].accepted)).not.toContain('signature')
    expect(calls[0].rejected.map((r) => [r.id, r.reason, r.event?.personId])).toEqual([['forged', 'bad_signature', 'u']])
  })

  it('uses req.body when a body parser (Express) consumed the stream first', async () => {
    const { calls, onEvents } = recorder()
    const signet = createSignetHandler({ projects, onEvents })
    const url = await listen(async (req, res) => {
      ;(req as IncomingMessage & { body?: unknown }).body = JSON.parse((await readBody(req, 1e6, 1000)).toString())
      void signet.node(req, res)
    })
    expect(await (await fetch(url, { method: 'POST', body: batch })).json()).toEqual(EXPECTED)
    expect(calls).toHaveLength(1)
  })

  it('answers 503 with Retry-After when onEvents fails, so the tracker sends the batch again', async () => {
    const lines: string[] = []
    const signet = createSignetHandler({ projects, onEvents: () => Promise.reject(new Error('database is down')), log: (l) => lines.push(l) })
    const answer = await signet.handle(batch)
    expect(answer).toMatchObject({ status: 503, headers: { 'Retry-After': '5', 'Access-Control-Expose-Headers': 'Retry-After' } })
    expect(lines).toEqual(['signet: could not store a batch: database is down'])
  })

  it('answers parsed bodies for frameworks such as Fastify', async () => {
    const signet = createSignetHandler({ projects, onEvents: () => {} })
    expect(await signet.handle(batch)).toMatchObject({ status: 200, body: EXPECTED })
    expect(await signet.handle(JSON.parse(batch))).toMatchObject({ status: 200, body: EXPECTED })
    expect(await signet.handle('{nope')).toMatchObject({ status: 400, body: { error: 'malformed JSON' } })
  })

  it('reads gzip bodies in each front door (the tracker compresses its requests)', async () => {
    const { gzipSync } = await import('node:zlib')
    const zipped = gzipSync(batch)
    const signet = createSignetHandler({ projects, onEvents: () => {} })
    expect(await signet.handle(zipped)).toMatchObject({ status: 200, body: EXPECTED })
    const res = await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: zipped }))
    expect(await res.json()).toEqual(EXPECTED)
    const url = await listen((req, res) => void signet.node(req, res))
    expect(await (await fetch(url, { method: 'POST', body: zipped as unknown as BodyInit })).json()).toEqual(EXPECTED)
  })

  it("keeps each request's browser, system and device type (its User-Agent header, parsed), never the header, in each front door", async () => {
    const { calls, onEvents } = recorder()
    const signet = createSignetHandler({ projects, onEvents })
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1'
    const windows = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    const url = await listen((req, res) => void signet.node(req, res))
    await fetch(url, { method: 'POST', body: batch, headers: { 'User-Agent': iphone } })
    await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: batch, headers: { 'User-Agent': windows } }))
    await signet.handle(batch, '127.0.0.1', 'curl/8.5.0')
    await signet.handle(batch)
    expect(calls.map((c) => c.accepted.map((e) => e.device))).toEqual([
      ['Mobile Safari|iOS|mobile', 'Mobile Safari|iOS|mobile'],
      ['Chrome|Windows|desktop', 'Chrome|Windows|desktop'],
      ['unknown|unknown|unknown', 'unknown|unknown|unknown'],
      [undefined, undefined],
    ])
    expect(JSON.stringify(calls)).not.toContain('Mozilla')
  })

  it('works as a Request → Response handler', async () => {
    const { calls, onEvents } = recorder()
    const signet = createSignetHandler({ projects, onEvents, maxBodyBytes: 4096 })
    const res = await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: batch }))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(EXPECTED)
    expect(calls[0].accepted).toHaveLength(2)
    expect((await signet.fetch(new Request('https://site.test/track', { method: 'OPTIONS' }))).status).toBe(204)
    expect((await signet.fetch(new Request('https://site.test/track'))).status).toBe(405)
    expect((await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: 'x'.repeat(5000) }))).status).toBe(413)
  })

  it('stops reading a streamed body without Content-Length at the limit (413), and reads one within it', async () => {
    const signet = createSignetHandler({ projects, onEvents: () => {} })
    // 800 MB offered 64 KiB at a time, made only as they are read.
    let pulled = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= 800 * 1024 * 1024) return controller.close()
        pulled += 65_536
        controller.enqueue(new Uint8Array(65_536).fill(0x20))
      },
    })
    const before = process.memoryUsage().rss
    const res = await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: endless, duplex: 'half' } as RequestInit))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: 'body over 131072 bytes' })
    expect(pulled).toBeLessThan(1024 * 1024)
    expect(process.memoryUsage().rss - before).toBeLessThan(32 * 1024 * 1024)
    const streamed = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < batch.length; i += 50) controller.enqueue(new TextEncoder().encode(batch.slice(i, i + 50)))
        controller.close()
      },
    })
    const ok = await signet.fetch(new Request('https://site.test/track', { method: 'POST', body: streamed, duplex: 'half' } as RequestInit))
    expect(await ok.json()).toEqual(EXPECTED)
  })

  it('rejects as too_large props nested past what can be serialised, in a body a framework parsed already', async () => {
    const signet = createSignetHandler({ projects, onEvents: () => {} })
    let props: unknown = 1
    for (let i = 0; i < 50_000; i++) props = [props]
    const parsed = { v: 1, project: 'P', sentAt: Date.now(), events: [event('deep', { props: { a: props } })] }
    expect(await signet.handle(parsed)).toMatchObject({ status: 200, body: { accepted: 0, rejected: [{ id: 'deep', reason: 'too_large' }] } })
  })

  it('refuses a project configuration that cannot work', () => {
    expect(() => createSignetHandler({ projects: { P: { secureMode: 'enforce', secrets: [] } }, onEvents: () => {} })).toThrow(/needs at least one secret/)
  })
})
