// @vitest-environment node
// What a user gets from npm: this package packed as `npm publish` packs it (dist/ as `npm test` just
// built it), installed into a fresh project, then used the ways the README says: an Express 5 app in
// TypeScript under `nodenext`, a Vite app under `bundler` resolution, a plain CommonJS script, the
// `signet` command, and every file of docs/examples as written.
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Window } from 'happy-dom'
import { beforeAll, describe, expect, it } from 'vitest'
import { personSignature } from '../src/server/verify/signature'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// Under node_modules (in no dot folder, which Express's sendFile would refuse): the fixtures find express, fastify, vite, typescript and @types from this
// repository, while signet-tracker resolves to the installed tarball (the fixture is a package of
// its own, so nothing resolves to this checkout by its name).
const WORK = join(ROOT, 'node_modules/signet-package-fixture')
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')
const SECRET = 'package-test-secret'
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version

const write = (path: string, text: string) => {
  mkdirSync(join(WORK, path, '..'), { recursive: true })
  writeFileSync(join(WORK, path), text)
}
/** Runs a command in the fixture; its output, or an error carrying what it printed. */
const sh = (file: string, args: string[], cwd = WORK, env: Record<string, string> = {}) => {
  try {
    return execFileSync(file, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, stdio: 'pipe' })
  } catch (e) {
    const { stdout, stderr } = e as { stdout: string; stderr: string }
    throw new Error(`${[file, ...args].join(' ')} failed:\n${stdout}${stderr}`)
  }
}
const tsc = (project: string) => sh(process.execPath, [TSC, '-p', project])

/** A signed batch of one event for GSN-123456-A, the project of the examples. */
const batch = (name: string) =>
  JSON.stringify({
    v: 1,
    project: 'GSN-123456-A',
    sentAt: Date.now(),
    events: [{ id: `${name}-1`, type: 'event', name, ts: Date.now(), anonymousId: 'a', personId: 'ada', signature: personSignature(SECRET, 'ada') }],
  })

beforeAll(() => {
  rmSync(WORK, { recursive: true, force: true })
  mkdirSync(WORK, { recursive: true })
  const [pack] = JSON.parse(sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', WORK], ROOT))
  write('package.json', JSON.stringify({ name: 'signet-fixture', private: true, type: 'module' }))
  sh('npm', ['install', join(WORK, pack.filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'])
}, 120_000)

describe('the packed package', () => {
  it('ships the built files and the types, not the sources or the tests', () => {
    const shipped = readdirSync(join(WORK, 'node_modules/signet-tracker'), { recursive: true }).map(String)
    for (const file of ['dist/tracker.js', 'dist/server.mjs', 'dist/server.d.mts', 'dist/cli.mjs', 'dist/snippet.min.js', 'types/signet.d.ts', 'LICENSE'])
      expect(shipped).toContain(file)
    expect(shipped.filter((f) => /^(src|test|e2e|bench)\b|mangled-names|start\.mjs|\.d\.ts$/.test(f) && !f.startsWith('types/'))).toEqual([])
  })

  it('types an Express 5 app under nodenext, which then serves tracker.js and the snippet, and stores a signed batch', async () => {
    write(
      'express-app/tsconfig.json',
      JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, types: ['node'], outDir: 'out' }, include: ['*.ts'] }),
    )
    write(
      'express-app/server.ts',
      `import express from 'express'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { createSignetHandler, renderSnippet, type StoredEvent } from 'signet-tracker/server'

const stored: StoredEvent[] = []
const signet = createSignetHandler({
  projects: { 'GSN-123456-A': { secureMode: 'enforce', secrets: [process.env.SIGNET_SECRET!] } },
  onEvents: (accepted) => { stored.push(...accepted.map((e) => ({ ...e, name: e.name!.toUpperCase() }))) },
})
// Never called: were the types any, the line below would be no error, and tsc would fail on the directive.
export const typeCheckOnly = () =>
  // @ts-expect-error a Secure Mode the collector does not know
  createSignetHandler({ projects: { P: { secureMode: 'strict', secrets: [] } }, onEvents: () => {} })

const app = express()
app.post('/track', signet.node)
app.get('/', (_req, res) => { res.send('<!doctype html>' + renderSnippet({ src: '/tracker.js', token: 'GSN-123456-A' })) })
app.get('/tracker.js', (_req, res) => { res.sendFile(createRequire(import.meta.url).resolve('signet-tracker/tracker.js')) })
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + (server.address() as AddressInfo).port
  const answer = await (await fetch(base + '/track', { method: 'POST', body: process.env.BATCH })).json()
  const tracker = await (await fetch(base + '/tracker.js')).text()
  const page = await (await fetch(base + '/')).text()
  console.log(JSON.stringify({ answer, stored: stored.map((e) => e.name), tracker: tracker.length, page: page.includes("'/tracker.js'") }))
  server.close()
})
`,
    )
    tsc(join(WORK, 'express-app'))
    const out = JSON.parse(sh(process.execPath, ['express-app/out/server.js'], WORK, { SIGNET_SECRET: SECRET, BATCH: batch('signup') }))
    expect(out).toEqual({
      answer: { accepted: 1, rejected: [] },
      stored: ['SIGNUP'],
      tracker: readFileSync(join(ROOT, 'dist/tracker.js')).length,
      page: true,
    })
  }, 60_000)

  it('types a Vite app under bundler resolution, whose build runs in a page and tracks', async () => {
    write(
      'vite-app/tsconfig.json',
      JSON.stringify({ compilerOptions: { module: 'esnext', moduleResolution: 'bundler', target: 'es2020', lib: ['es2020', 'dom'], strict: true, noEmit: true, types: [] }, include: ['*.ts'] }),
    )
    write('vite-app/index.html', '<!doctype html><html><head><title>Vite</title></head><body><script type="module" src="/main.ts"></script></body></html>')
    write(
      'vite-app/main.ts',
      `import { createTracker } from 'signet-tracker'
import 'signet-tracker/global'

const gs = createTracker({ endpoint: 'https://collector.test/track' })
gs('GSN-123456-A', { pageview: false })
gs('event', 'vite_loaded', { plan: 'pro' })
// @ts-expect-error an event needs a name
gs('event')
// signet-tracker/global types the snippet's window._gs; this page has none.
;(window as unknown as { loaded: string }).loaded = typeof window._gs
`,
    )
    tsc(join(WORK, 'vite-app'))
    const { build } = await import('vite')
    await build({ root: join(WORK, 'vite-app'), logLevel: 'silent', build: { outDir: join(WORK, 'vite-app/dist'), minify: false } })
    const assets = readdirSync(join(WORK, 'vite-app/dist/assets')).filter((f) => f.endsWith('.js'))
    expect(assets).toHaveLength(1)
    const code = readFileSync(join(WORK, 'vite-app/dist/assets', assets[0]), 'utf8')

    // The build, run in a page (its globals the page's): the event it tracks goes to the endpoint.
    const win = new Window({ url: 'https://shop.test/' })
    const sent: string[] = []
    const fetch = async (url: string, init: { body: string }) => (sent.push(`${url} ${init.body}`), new Response('{"accepted":1,"rejected":[]}'))
    Object.assign(win, { fetch })
    new Function('window', `with (window) {${code}}`)(win)
    await new Promise((r) => setTimeout(r, 200))
    expect((win as unknown as { loaded: string }).loaded).toBe('undefined')
    expect(sent.join('\n')).toMatch(/^https:\/\/collector\.test\/track .*"name":"vite_loaded"/)
  }, 60_000)

  it('is required from a plain CommonJS script', () => {
    write(
      'script.cjs',
      `const { personSignature, verifySignature, renderSnippet } = require('signet-tracker/server')
const signature = personSignature(process.env.SIGNET_SECRET, 'ada')
console.log(JSON.stringify({
  valid: verifySignature(process.env.SIGNET_SECRET, 'ada', signature),
  snippet: renderSnippet({ src: 'https://cdn.test/tracker.js', token: 'GSN-1' }).startsWith('<script>'),
  tracker: require.resolve('signet-tracker/tracker.js').endsWith('dist/tracker.js'),
  version: require('signet-tracker/package.json').version,
  global: Object.keys(require('signet-tracker/global')).length,
}))
`,
    )
    expect(JSON.parse(sh(process.execPath, ['script.cjs'], WORK, { SIGNET_SECRET: SECRET }))).toEqual({ valid: true, snippet: true, tracker: true, version: VERSION, global: 0 })
  })

  it('installs the signet command', () => {
    expect(sh(join(WORK, 'node_modules/.bin/signet'), ['--version']).trim()).toBe(VERSION)
    expect(sh(join(WORK, 'node_modules/.bin/signet'), ['sign', '--id', 'ada'], WORK, { SIGNET_SECRET: SECRET }).trim()).toBe(personSignature(SECRET, 'ada'))
  })

  it('stops `npx signet collector` when npx is told to stop (npm does not pass the SIGTERM on)', async () => {
    const db = join(WORK, 'npx-collector/signet.db')
    const npx = spawn('npm', ['exec', '--', 'signet', 'collector', '--port', '0', '--mode', 'off', '--project', 'GSN-123456-A', '--db', db], { cwd: WORK })
    let printed = ''
    npx.stderr.on('data', (d) => (printed += d))
    const url = await new Promise<string>((resolve, reject) => {
      npx.stdout.on('data', (d) => {
        printed += d
        const m = /Collector: (\S+)\/track/.exec(printed)
        if (m) resolve(m[1])
      })
      npx.on('exit', (code) => reject(new Error(`npx signet collector exited ${code}: ${printed}`)))
    })
    expect((await fetch(url + '/healthz')).status).toBe(200)
    npx.kill('SIGTERM')
    // The collector notices within a second, and stops as for its own SIGTERM (within 10 s).
    await expect.poll(() => fetch(url + '/healthz').then((r) => r.status, () => 'closed'), { timeout: 15_000, interval: 250 }).toBe('closed')
  }, 60_000)
})

describe('docs/examples, run as written against the installed package', () => {
  /** Starts a server example; its URL from what it prints, and a way to stop it. */
  const serve = async (file: string) => {
    const dir = join(WORK, 'examples', file.replace(/\.\w+$/, ''))
    mkdirSync(dir, { recursive: true })
    copyFileSync(join(ROOT, 'docs/examples', file), join(dir, file))
    const child = spawn(process.execPath, [file], { cwd: dir, env: { PATH: process.env.PATH!, SIGNET_SECRET: SECRET, PORT: '0' } })
    let printed = ''
    child.stderr.on('data', (d) => (printed += d))
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        const m = /listening on (\S+)/.exec(String(d))
        if (m) resolve(m[1])
      })
      child.on('exit', (code) => reject(new Error(`${file} exited ${code}: ${printed}`)))
    })
    return { url, dir, stop: () => child.kill() }
  }
  const stored = (dir: string) => readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).name)

  for (const file of ['node-http.mjs', 'express.mjs', 'fastify.mjs'])
    it(`${file} accepts a signed batch, and serves its page and the installed tracker.js`, async () => {
      const { url, dir, stop } = await serve(file)
      try {
        expect(await (await fetch(url + 'track', { method: 'POST', body: batch('from-' + file) })).json()).toEqual({ accepted: 1, rejected: [] })
        expect(stored(dir)).toEqual(['from-' + file])
        // Its page for a signed-in person, written by renderSnippet (e2e/examples.spec.ts opens it in a browser).
        const html = await (await fetch(url)).text()
        expect(html).toContain(`_gs('identify', {"id":"u-123","name":"Ann"});\n_gs('auth', "${personSignature(SECRET, 'u-123')}");`)
        const tracker = await fetch(url + 'tracker.js')
        expect(await tracker.text()).toBe(readFileSync(join(WORK, 'node_modules/signet-tracker/dist/tracker.js'), 'utf8'))
        expect(tracker.headers.get('cache-control')).toBe('public, max-age=3600')
        expect((await fetch(url + 'tracker.js', { headers: { 'If-None-Match': tracker.headers.get('etag')! } })).status).toBe(304)
      } finally {
        stop()
      }
    }, 30_000)

  it('worker.mjs answers a Request with the bindings a Worker gets', async () => {
    copyFileSync(join(ROOT, 'docs/examples/worker.mjs'), join(WORK, 'worker.mjs'))
    const { default: worker } = await import(join(WORK, 'worker.mjs'))
    const queued: unknown[][] = []
    const env = { SIGNET_SECRET: SECRET, EVENTS: { send: async (events: unknown[]) => void queued.push(events) } }
    const res = await worker.fetch(new Request('https://worker.test/track', { method: 'POST', body: batch('from-worker') }), env)
    expect(await res.json()).toEqual({ accepted: 1, rejected: [] })
    expect(queued.flat().map((e) => (e as { name: string }).name)).toEqual(['from-worker'])
    expect((await worker.fetch(new Request('https://worker.test/'), env)).status).toBe(404)
  })
})
