// @vitest-environment node
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { anonymizeIp, createCollector, type Collector, type CollectorOptions } from '../../src/server/collector'
import { loadConfig } from '../../src/server/config'
import { personSignature, userSignature } from '../../src/server/signature'
import { verificationToken } from '../../src/server/token'

const SECRET = 'test-secret'
let open: Collector[] = []

async function start(options: Partial<CollectorOptions> = {}) {
  const collector = createCollector({
    projects: {
      ENF: { secureMode: 'enforce', secrets: [SECRET] },
      REP: { secureMode: 'report', secrets: [SECRET] },
      OFF: { secureMode: 'off', secrets: [] },
    },
    ...options,
  })
  open.push(collector)
  return { collector, url: await collector.listen() }
}

afterEach(async () => {
  await Promise.all(open.map((c) => c.close()))
  open = []
})

let n = 0
const event = (extra: Record<string, unknown> = {}) => ({
  id: `e${++n}`,
  type: 'event',
  name: 'click',
  ts: Date.now(),
  anonymousId: 'anon-1',
  page: { url: 'https://site.test/', title: 'Site', referrer: '' },
  ...extra,
})
const batch = (project: string, events: unknown[]) => JSON.stringify({ v: 1, project, sentAt: Date.now(), events })

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url + '/track', { method: 'POST', body, headers: { 'Content-Type': 'text/plain;charset=UTF-8', ...headers } })
  return { status: res.status, headers: res.headers, body: await res.json() }
}

describe('collector Secure Mode', () => {
  it('enforce: accepts signed and anonymous events, rejects missing and forged signatures', async () => {
    const { collector, url } = await start()
    const signed = event({ personId: 'u1', signature: personSignature(SECRET, 'u1') })
    const anonymous = event()
    const missing = event({ personId: 'u1' })
    const forged = event({ personId: 'u1', signature: personSignature('guess', 'u1') })
    const borrowed = event({ personId: 'u2', signature: personSignature(SECRET, 'u1') })
    const res = await post(url, batch('ENF', [signed, anonymous, missing, forged, borrowed]))
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.body).toEqual({
      accepted: 2,
      rejected: [
        { id: missing.id, reason: 'missing_signature' },
        { id: forged.id, reason: 'bad_signature' },
        { id: borrowed.id, reason: 'bad_signature' },
      ],
    })
    expect(collector.events().map((e) => [e.id, e.verdict])).toEqual([
      [signed.id, 'verified'],
      [anonymous.id, 'anonymous'],
    ])
  })

  it('report: stores everything with its verdict; off: does not check', async () => {
    const { collector, url } = await start()
    const forged = event({ personId: 'u1', signature: 'ab'.repeat(32) })
    expect((await post(url, batch('REP', [forged]))).body).toEqual({ accepted: 1, rejected: [] })
    const unsigned = event({ personId: 'u1' })
    expect((await post(url, batch('OFF', [unsigned]))).body).toEqual({ accepted: 1, rejected: [] })
    expect(collector.events().map((e) => e.verdict)).toEqual(['bad_signature', 'unchecked'])
  })

  it('never stores the signature', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signet-')), 'events.jsonl')
    const { url } = await start({ dataFile: file })
    const sig = personSignature(SECRET, 'u1')
    await post(url, batch('ENF', [event({ personId: 'u1', signature: sig })]))
    const stored = readFileSync(file, 'utf8')
    expect(stored).toContain('"verdict":"verified"')
    expect(stored).not.toContain(sig)
  })

  it('rejects events for an unknown project and events of the wrong shape', async () => {
    const { url } = await start()
    const e = event()
    expect((await post(url, batch('NOPE', [e]))).body).toEqual({ accepted: 0, rejected: [{ id: e.id, reason: 'unknown_project' }] })
    const bad = [
      { ...event(), type: 'nope' },
      { ...event(), ts: 'yesterday' },
      { ...event(), anonymousId: '' },
      { ...event(), name: undefined },
      { ...event(), props: [1] },
      42,
    ]
    const res = await post(url, batch('ENF', bad))
    expect(res.body.accepted).toBe(0)
    expect(res.body.rejected.map((r: { reason: string }) => r.reason)).toEqual(Array(6).fill('invalid_event'))
  })
})

describe('collector signature schemes', () => {
  const KEY = Buffer.from('a1b2-c3d4;00ff-11ee-22dd').toString('base64')

  it('hex and base64 schemes accept only their own encoding', async () => {
    const { url } = await start({
      projects: { HEX: { secureMode: 'enforce', scheme: 'hex', secrets: [SECRET] }, B64: { secureMode: 'enforce', scheme: 'base64', secrets: [SECRET] } },
    })
    const asHex = event({ personId: 'u1', signature: personSignature(SECRET, 'u1') })
    const asB64 = event({ personId: 'u1', signature: userSignature(SECRET, 'u1') })
    expect((await post(url, batch('HEX', [asHex, asB64]))).body.rejected).toEqual([{ id: asB64.id, reason: 'bad_signature' }])
    expect((await post(url, batch('B64', [asHex, asB64]))).body.rejected).toEqual([{ id: asHex.id, reason: 'bad_signature' }])
  })

  it('token scheme accepts a fresh token and rejects an old one as expired_signature', async () => {
    const { collector, url } = await start({ projects: { TOK: { secureMode: 'enforce', scheme: 'token', maxAgeSeconds: 600, secrets: [KEY] } } })
    const fresh = event({ personId: 'u1', signature: verificationToken(KEY, 'u1') })
    const old = event({ personId: 'u1', signature: verificationToken(KEY, 'u1', Date.now() - 601_000) })
    const hexSig = event({ personId: 'u1', signature: personSignature(SECRET, 'u1') })
    expect((await post(url, batch('TOK', [fresh, old, hexSig]))).body).toEqual({
      accepted: 1,
      rejected: [
        { id: old.id, reason: 'expired_signature' },
        { id: hexSig.id, reason: 'bad_signature' },
      ],
    })
    expect(collector.events().map((e) => e.verdict)).toEqual(['verified'])
  })

  it('accepts the old and the new secret while a rotation overlaps', async () => {
    const { url } = await start({ projects: { ROT: { secureMode: 'enforce', secrets: ['new-secret', 'old-secret'] } } })
    const events = ['new-secret', 'old-secret', 'retired'].map((s) => event({ personId: 'u1', signature: personSignature(s, 'u1') }))
    expect((await post(url, batch('ROT', events))).body).toEqual({ accepted: 2, rejected: [{ id: events[2].id, reason: 'bad_signature' }] })
  })

  it('refuses a token project with a malformed key, or an unknown scheme', () => {
    expect(() => createCollector({ projects: { T: { secureMode: 'enforce', scheme: 'token', secrets: ['nope'] } } })).toThrow(/hmacId;hmacSecret/)
    expect(() => createCollector({ projects: { T: { secureMode: 'enforce', scheme: 'rot13' as 'hex', secrets: ['s'] } } })).toThrow(/hex, base64 or token/)
  })
})

describe('collector robustness', () => {
  it('answers 400 to malformed JSON or a body that is not a batch, and keeps serving', async () => {
    const { url } = await start()
    for (const body of ['{nope', '[]', '{"v":2,"project":"ENF","events":[]}', '{"v":1,"project":"ENF"}'])
      expect((await post(url, body)).status).toBe(400)
    expect((await post(url, batch('ENF', [event()]))).body.accepted).toBe(1)
  })

  it('answers 413 to an oversized body, declared or streamed, and keeps serving', async () => {
    const { url } = await start({ maxBodyBytes: 1024 })
    expect((await post(url, 'a'.repeat(4096))).status).toBe(413)
    // No Content-Length: the limit is applied while the body streams in.
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = request(url + '/track', { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512, 'a'))
      req.end()
    })
    expect(streamed).toBe(413)
    expect((await post(url, batch('ENF', [event()]))).body.accepted).toBe(1)
  })

  it('deduplicates by event id, also across a restart from its JSONL file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signet-')), 'events.jsonl')
    const first = await start({ dataFile: file })
    const e = event()
    await post(first.url, batch('ENF', [e, e]))
    expect((await post(first.url, batch('ENF', [e]))).body).toEqual({ accepted: 1, rejected: [] })
    await first.collector.close()
    writeFileSync(file, readFileSync(file, 'utf8') + '{"half a line')
    const second = await start({ dataFile: file })
    await post(second.url, batch('ENF', [e, event()]))
    const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"id"'))
    expect(lines.map((l) => JSON.parse(l).id).filter((id) => id == e.id)).toHaveLength(1)
    expect(lines).toHaveLength(2)
  })

  it('serves the tracker and its adapters, nothing else from its folder, and answers a CORS preflight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-'))
    mkdirSync(join(dir, 'adapters'))
    writeFileSync(join(dir, 'tracker.js'), '/* tracker */')
    writeFileSync(join(dir, 'adapters', 'beacon.js'), '/* beacon */')
    writeFileSync(join(dir, 'secret.txt'), 'do not serve')
    const { url } = await start({ assetDir: dir })
    const js = await fetch(url + '/tracker.js')
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await js.text()).toBe('/* tracker */')
    expect(await (await fetch(url + '/adapters/beacon.js')).text()).toBe('/* beacon */')
    expect((await fetch(url + '/adapters/engagespot.js')).status).toBe(404)
    expect((await fetch(url + '/tracker.js')).status).toBe(200)
    for (const path of ['/secret.txt', '/adapters/../secret.txt', '/%2e%2e/secret.txt']) expect((await fetch(url + path)).status).toBe(404)
    const pre = await fetch(url + '/track', { method: 'OPTIONS' })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
    expect((await fetch(url + '/elsewhere')).status).toBe(404)
  })

  it('refuses a Secure Mode project without a secret, or an unknown mode', () => {
    expect(() => createCollector({ projects: { P: { secureMode: 'enforce', secrets: [] } } })).toThrow(/needs at least one secret/)
    expect(() => createCollector({ projects: { P: { secureMode: 'strict' as 'off', secrets: ['s'] } } })).toThrow(/off, report or enforce/)
  })
})

describe('limits and privacy', () => {
  it('rejects oversized fields as too_large and a request with too many events as 413', async () => {
    const { url } = await start()
    const big = [
      event({ name: 'n'.repeat(257) }),
      event({ props: { blob: 'x'.repeat(9000) } }),
      event({ page: { url: 'https://site.test/' + 'p'.repeat(2100) } }),
      event({ personId: 'p'.repeat(513) }),
    ]
    const res = await post(url, batch('OFF', big))
    expect(res.body.rejected.map((r: { reason: string }) => r.reason)).toEqual(Array(4).fill('too_large'))
    expect((await post(url, batch('OFF', Array.from({ length: 501 }, () => event())))).status).toBe(413)
    expect((await post(url, batch('OFF', [event()]))).body.accepted).toBe(1)
  })

  it('answers 408 to a body that trickles in too slowly, and keeps serving', async () => {
    const { url } = await start({ bodyTimeoutMs: 200 })
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(url + '/track', { method: 'POST', headers: { 'Content-Length': '1000' } }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.write('{"v":1,')
    })
    expect(status).toBe(408)
    expect((await post(url, batch('OFF', [event()]))).body.accepted).toBe(1)
  })

  it('stores the sender address, cut to its network when the batch asks for anonymizeIP', async () => {
    const { collector, url } = await start()
    await post(url, batch('OFF', [event()]))
    await post(url, JSON.stringify({ v: 1, project: 'OFF', sentAt: 1, anonymizeIP: true, events: [event()] }))
    expect(collector.events().map((e) => e.ip)).toEqual(['127.0.0.1', '127.0.0.0'])
    expect(anonymizeIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::')
    expect(anonymizeIp('::ffff:203.0.113.77')).toBe('203.0.113.0')
  })

  it('never logs or echoes a signature or a secret', async () => {
    const lines: string[] = []
    const { url } = await start({ log: (l) => lines.push(l) })
    const sig = personSignature(SECRET, 'u1')
    const answers = [
      await post(url, batch('ENF', [event({ personId: 'u1', signature: sig }), event({ personId: 'u1', signature: sig.replace('a', 'b') })])),
      await post(url, `{"v":1,"project":"ENF","events":[{"signature":"${sig}"`),
      await post(url, batch(sig, [event({ personId: 'u1', signature: sig })])),
    ]
    const seen = JSON.stringify(answers) + lines.join('\n')
    expect(lines.length).toBeGreaterThan(0)
    expect(seen).not.toContain(sig)
    expect(seen).not.toContain(sig.slice(0, 16))
    expect(seen).not.toContain(SECRET)
  })
})

describe('fault mode', () => {
  it('answers the next requests with an injected status, then recovers, counting every request', async () => {
    const { collector, url } = await start()
    collector.inject({ status: 429, retryAfter: 3 }, 2)
    const first = await fetch(url + '/track', { method: 'POST', body: batch('ENF', [event()]) })
    expect(first.status).toBe(429)
    expect(first.headers.get('retry-after')).toBe('3')
    expect(first.headers.get('access-control-expose-headers')).toBe('Retry-After')
    expect((await post(url, batch('ENF', [event()]))).status).toBe(429)
    expect((await post(url, batch('ENF', [event()]))).status).toBe(200)
    expect(collector.requests()).toBe(3)
    expect(collector.events()).toHaveLength(1)
  })

  it('can reset connections', async () => {
    const { collector, url } = await start()
    collector.inject({ reset: true }, 1)
    await expect(post(url, batch('ENF', [event()]))).rejects.toThrow()
    expect((await post(url, batch('ENF', [event()]))).status).toBe(200)
  })
})

describe('configuration', () => {
  it('reads secrets from the environment or a file, never a default', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-'))
    writeFileSync(join(dir, 'secret'), 'from-file\n')
    expect(loadConfig({ SIGNET_PROJECT: 'P', SIGNET_SECRET_FILE: join(dir, 'secret') }).projects.P).toEqual({
      secureMode: 'enforce',
      secrets: ['from-file'],
    })
    const a = loadConfig({})
    const b = loadConfig({})
    expect(a.generatedSecret).toBe(true)
    expect(a.projects[a.demoProject].secrets[0]).not.toBe(b.projects[b.demoProject].secrets[0])
  })

  it('reads several projects and rotated secrets from SIGNET_CONFIG', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-'))
    writeFileSync(join(dir, 'old'), 'old-secret\nolder-secret\n')
    writeFileSync(
      join(dir, 'signet.json'),
      JSON.stringify({ projects: { B: { secureMode: 'off' }, A: { secureMode: 'report', scheme: 'hex', secrets: ['new-secret'], secretFiles: [join(dir, 'old')] } } }),
    )
    const config = loadConfig({ SIGNET_CONFIG: join(dir, 'signet.json'), PORT: '9000' })
    expect(config.port).toBe(9000)
    expect(config.demoProject).toBe('A')
    expect(config.projects).toEqual({
      B: { secureMode: 'off', secrets: [] },
      A: { secureMode: 'report', scheme: 'hex', secrets: ['new-secret', 'old-secret', 'older-secret'] },
    })
  })

  it('says what is wrong with a bad port or an empty secret file', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/)
    const dir = mkdtempSync(join(tmpdir(), 'signet-'))
    writeFileSync(join(dir, 'secret'), '  \n')
    expect(() => loadConfig({ SIGNET_SECRET_FILE: join(dir, 'secret') })).toThrow(/empty/)
  })
})
