import { test as base, expect, type Page } from '@playwright/test'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { createCollector, type StoredEvent } from '../src/server/http/collector'
import { send } from '../src/server/http/http'
import { personSignature, userSignature } from '../src/server/verify/signature'
import { loader } from '../src/server/http/snippet'
import { openStore } from '../src/server/store/open'
import type { Store } from '../src/server/store/store'
import { verificationToken } from '../src/server/verify/token'

export const TOKEN = 'GSN-E2E-1'
/** A project verifying GetintheLoop verification tokens no older than a minute. */
export const TOKEN_PROJECT = 'GSN-E2E-TOKEN'
/** A project in the middle of a secret rotation: the new secret and the old one both verify. */
export const ROTATING = 'GSN-E2E-ROTATING'
export const MAX_AGE = 60
/** A project that takes an identity provider's ES256 tokens, knowing only its JWKS URL, issuer and audience. */
export const JWT_PROJECT = 'GSN-E2E-JWT'
const ISSUER = 'http://provider.localhost/'
const AUDIENCE = 'e2e-site'
const DIST = fileURLToPath(new URL('../dist', import.meta.url))

/** One wire event as the tracker sent it, and the collector's answer to its request. */
export interface Sent {
  type: string
  id: string
  name?: string
  personId?: string
  signature?: string
  anonymousId: string
  props?: Record<string, unknown>
}

export interface Site {
  /** Serves html (with extra response headers) at a fresh path of the site's origin (not the collector's) and returns its URL. */
  page(html: string, headers?: Record<string, string>): string
  /** Serves answer(url) as text at path, the way a site's own server route would. */
  route(path: string, answer: (url: URL) => string | Promise<string>): void
  /** A page with the built snippet loading trackerUrl (default: the collector's), followed by the given calls. */
  snippetPage(calls: string, body?: string, trackerUrl?: string): string
  trackerUrl: string
  /** The tracker served by the site itself, for pages that must load while the collector is down. */
  ownTrackerUrl: string
}

/**
 * What the collector does to the next POST /track requests instead of answering them: answer with
 * a status, cut the connection, or take the whole request and never answer (a hung collector,
 * proxy or captive portal).
 */
export type Fault = { status: number; retryAfter?: number } | { reset: true } | { hang: true }

/** The reference collector on a SQLite store of its own, behind a server that can inject faults. */
export interface TestCollector {
  url: string
  store: Store
  /** Every event stored, in the order stored. */
  events(): Promise<StoredEvent[]>
  /** Makes the next `times` POST /track requests fail this way; undefined ends it. */
  inject(what: Fault | undefined, times?: number): void
  /** How many POST /track requests arrived, answered or not. */
  requests(): number
  /** Stops listening (the collector is down), cutting open connections. */
  down(): Promise<void>
  /** Listens again on the same port. */
  up(): Promise<void>
}

export interface Fixtures {
  secret: string
  /** The rotating project's new secret (its old one is `secret`). */
  newSecret: string
  /** The token project's Verification Key: base64 of "hmacId;hmacSecret". */
  verificationKey: string
  /** A verification token for id, issued `ageSeconds` ago. */
  token: (id: string, ageSeconds?: number) => string
  /** A local identity provider: its JWKS, and ES256 tokens it hands a signed-in person. */
  provider: {
    jwksUrl: string
    mint: (id: string, lifetimeSeconds: number) => Promise<string>
    fetches: () => number
    /** Signs with a new key (a new kid) from now on; its JWKS lists both. */
    rotate: () => Promise<void>
  }
  collector: TestCollector
  site: Site
  /** Events in POST /track bodies the page sent, in order, read off the wire. */
  sent: Sent[]
  /** Collector answers seen by the page. */
  answers: { accepted: number; rejected: { id: string; reason: string }[] }[]
  sign: (id: string) => string
  sign64: (id: string) => string
  /** Waits until the collector has stored events matching the filter, and returns them. */
  stored: (filter: (e: StoredEvent) => boolean, count?: number) => Promise<StoredEvent[]>
  warnings: string[]
}

export const test = base.extend<Fixtures>({
  secret: async ({}, use) => use(randomBytes(32).toString('hex')),
  newSecret: async ({}, use) => use(randomBytes(32).toString('hex')),
  verificationKey: async ({}, use) =>
    use(Buffer.from(`${randomBytes(16).toString('hex')};${randomBytes(32).toString('hex')}`).toString('base64')),
  token: async ({ verificationKey }, use) => use((id, age = 0) => verificationToken(verificationKey, id, Date.now() - age * 1000)),

  provider: async ({}, use) => {
    const keys: { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: object }[] = []
    const add = async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true })
      const kid = `e2e-${keys.length + 1}`
      keys.push({ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } })
    }
    await add()
    let fetches = 0
    const server = createServer((_req, res) => (fetches++, res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => k.jwk) }))))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    await use({
      jwksUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}/.well-known/jwks.json`,
      mint: (id, lifetime) => {
        const { kid, privateKey } = keys[keys.length - 1]
        return new SignJWT({ sub: id, iss: ISSUER, aud: AUDIENCE })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuedAt()
          .setExpirationTime(Math.floor(Date.now() / 1000) + lifetime)
          .sign(privateKey)
      },
      fetches: () => fetches,
      rotate: add,
    })
    await new Promise((r) => server.close(r))
  },

  collector: async ({ secret, newSecret, verificationKey, provider }, use) => {
    const store = await openStore({ file: join(mkdtempSync(join(tmpdir(), 'signet-e2e-')), 'signet.db') })
    const collector = createCollector({
      projects: {
        [TOKEN]: { secureMode: 'enforce', secrets: [secret] },
        [TOKEN_PROJECT]: { secureMode: 'enforce', scheme: 'token', maxAgeSeconds: MAX_AGE, secrets: [verificationKey] },
        [ROTATING]: { secureMode: 'enforce', scheme: 'hex', secrets: [newSecret, secret] },
        [JWT_PROJECT]: { secureMode: 'enforce', scheme: 'jwt', secrets: [], jwt: { jwksUrl: provider.jwksUrl, issuer: ISSUER, audience: AUDIENCE, clockToleranceSeconds: 0 } },
      },
      store,
      assetDir: DIST,
    })
    let fault: { what: Fault; times: number } | undefined
    let requests = 0
    // The fault injector stands in front of the collector, as a failing network or proxy would.
    const server = createServer((req, res) => {
      if (req.method == 'POST' && req.url?.split('?')[0] == '/track' && (requests++, fault && fault.times-- > 0)) {
        const what = fault!.what
        if ('reset' in what) req.socket.destroy()
        else if ('hang' in what) req.resume()
        else req.resume().on('end', () => send(res, what.status, { error: 'injected fault' }, undefined, what.retryAfter))
      } else if (!collector.handle(req, res)) send(res, 404, { error: 'not found' })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    await use({
      url: `http://127.0.0.1:${port}`,
      store,
      async events() {
        const events: StoredEvent[] = []
        for await (const line of store.lines()) events.push(JSON.parse(line))
        return events
      },
      inject: (what, times = Infinity) => void (fault = what && { what, times }),
      requests: () => requests,
      down: () =>
        new Promise((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        }),
      up: () => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve)),
    })
    server.closeAllConnections()
    await new Promise((r) => (server.listening ? server.close(r) : r(undefined)))
    await collector.close()
    await store.close()
  },

  site: async ({ collector }, use) => {
    const pages = new Map<string, { html: string; headers?: Record<string, string> }>()
    const routes = new Map<string, (url: URL) => string | Promise<string>>()
    const server: Server = createServer((req, res) => {
      const url = new URL(req.url || '/', 'http://site')
      const route = routes.get(url.pathname)
      const page = pages.get(url.pathname)
      const script = url.pathname == '/tracker.js'
      res.writeHead(route || page || script ? 200 : 404, {
        'Content-Type': `text/${script ? 'javascript' : route ? 'plain' : 'html'}; charset=utf-8`,
        ...page?.headers,
      })
      if (route) void Promise.resolve(route(url)).then((text) => res.end(text))
      else res.end(script ? readFileSync(join(DIST, 'tracker.js')) : page?.html || 'not found')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as { port: number }).port
    const trackerUrl = collector.url + '/tracker.js'
    const site: Site = {
      trackerUrl,
      route: (path, answer) => void routes.set(path, answer),
      page(html, headers) {
        const path = `/page-${pages.size + 1}`
        pages.set(path, { html, headers })
        // localhost vs 127.0.0.1: the site and the collector are different origins, as in production.
        return `http://localhost:${port}${path}`
      },
      ownTrackerUrl: `http://localhost:${port}/tracker.js`,
      snippetPage(calls, body = '', src = trackerUrl) {
        return site.page(
          `<!doctype html><html><head><title>E2E page</title><script>${loader(src)}\n${calls}</script></head><body>${body}</body></html>`,
        )
      },
    }
    await use(site)
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
  },

  sent: async ({ page, collector }, use) => {
    const sent: Sent[] = []
    page.on('request', (req) => {
      if (req.url() == collector.url + '/track' && req.method() == 'POST') sent.push(...requestBatch(req.postDataBuffer()).events)
    })
    await use(sent)
  },

  answers: async ({ page, collector }, use) => {
    const answers: Fixtures['answers'] = []
    page.on('response', async (res) => {
      if (res.url() == collector.url + '/track' && res.request().method() == 'POST' && res.status() == 200)
        answers.push(await res.json().catch(() => ({ accepted: -1, rejected: [] })))
    })
    await use(answers)
  },

  warnings: async ({ page }, use) => {
    const warnings: string[] = []
    page.on('console', (m) => {
      if (m.type() == 'warning') warnings.push(m.text())
    })
    await use(warnings)
  },

  sign: async ({ secret }, use) => use((id) => personSignature(secret, id)),
  sign64: async ({ secret }, use) => use((id) => userSignature(secret, id)),

  stored: async ({ collector }, use) => {
    await use(async (filter, count = 1) => {
      await expect.poll(async () => (await collector.events()).filter(filter).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(count)
      return (await collector.events()).filter(filter)
    })
  },
})

/** A request body as the collector reads it: gzip (as the tracker sends where it can) or JSON. */
export const requestBatch = (body: Buffer | null): { events: Sent[] } =>
  !body ? { events: [] } : JSON.parse((body[0] == 0x1f && body[1] == 0x8b ? gunzipSync(body) : body).toString())

/** Runs _gs calls in the page, in order; arguments must survive structured cloning (no functions). */
export const call = (page: Page, ...calls: unknown[][]) =>
  page.evaluate((list) => {
    for (const args of list) (window as unknown as { _gs: (...a: unknown[]) => void })._gs(...args)
  }, calls)

/** Fails the test on any uncaught error in the page. */
export function noPageErrors(page: Page): Error[] {
  const errors: Error[] = []
  page.on('pageerror', (e) => errors.push(e))
  return errors
}

export { expect }
