// @vitest-environment node
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { personSignature, userSignature } from '../../src/server/verify/signature'
import { loadDriver } from '../../src/server/store/store'
import { verificationToken } from '../../src/server/verify/token'
import { CLI, startCollector, startScript } from './processes'

const SECRET = 'cli-secret'
const run = (args: string[], env: Record<string, string> = { SIGNET_SECRET: SECRET }) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } })
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() }
}

describe('npm start (dist/start.mjs)', () => {
  it('serves the demo page, the tracker and the collector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-start-'))
    const { child, url, log } = startScript(['dist/start.mjs'], { PORT: '0', SIGNET_DB: join(dir, 'signet.db'), SIGNET_DATA: join(dir, 'events.jsonl') }, /Dashboard: (http:\/\/\S+)/)
    try {
      const dashboard = await url
      const base = /Demo: (http:\/\/\S+)\//.exec(log())![1]
      const login = await fetch(base + '/demo/login?as=alice', { redirect: 'manual' })
      const cookie = login.headers.get('set-cookie')!.split(';')[0]
      const page = await (await fetch(base + '/', { headers: { cookie } })).text()
      expect(page).toContain("_gs('identify'")
      expect(await (await fetch(base + '/demo/signature?id=alice', { headers: { cookie } })).text()).toMatch(/^[0-9a-f]{64}$/)
      expect((await fetch(base + '/tracker.js')).status).toBe(200)
      // The dashboard's address carries a token made for this run; without it, nothing.
      expect(dashboard).toMatch(new RegExp(`^${base}/dashboard\\?token=[0-9a-f]{32}$`))
      expect((await fetch(base + '/dashboard')).status).toBe(401)
      expect((await fetch(base + '/dashboard.js')).status).toBe(401)
      const entered = await fetch(dashboard, { redirect: 'manual' })
      const pass = entered.headers.get('set-cookie')!.split(';')[0]
      expect(await (await fetch(base + '/dashboard', { headers: { cookie: pass } })).text()).toContain('<script src="/dashboard.js">')
      expect((await fetch(base + '/dashboard.js', { headers: { cookie: pass } })).status).toBe(200)
      expect(log()).toContain('Secure Mode enforce')
      expect(log()).toContain(`Storing events in sqlite ${join(dir, 'signet.db')}`)
    } finally {
      child.kill()
    }
  })
})

// Each test starts signet processes one after another (up to 13, each a Node start): measured 2.7 s
// on an idle 2-core machine, 5.7 s beside stress-ng --cpu 2, where vitest's 5 s would fail them.
describe('signet CLI', { timeout: 20_000 }, () => {
  it('signs in hex, base64 or as a verification token', () => {
    expect(run(['sign', '--id', 'u-1'])).toEqual({ code: 0, out: personSignature(SECRET, 'u-1'), err: '' })
    expect(run(['sign', '--id', 'u-1', '--scheme', 'base64']).out).toBe(userSignature(SECRET, 'u-1'))
    const key = Buffer.from('abcd;0011').toString('base64')
    const token = run(['sign', '--id', 'u-1', '--scheme', 'token'], { SIGNET_SECRET: key }).out
    expect(run(['verify', '--id', 'u-1', '--signature', token, '--scheme', 'token'], { SIGNET_SECRET: key })).toMatchObject({ code: 0, out: 'valid' })
    expect(token.length).toBe(verificationToken(key, 'u-1').length)
  })

  it('reads the secret from a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'signet-cli-')), 'secret')
    writeFileSync(file, 'from-file\n')
    expect(run(['sign', '--id', '7', '--secret-file', file], {}).out).toBe(personSignature('from-file', '7'))
  })

  it('verifies: exit 0 for a good signature, 1 for a bad one', () => {
    expect(run(['verify', '--id', 'u-1', '--signature', personSignature(SECRET, 'u-1')])).toMatchObject({ code: 0, out: 'valid' })
    expect(run(['verify', '--id', 'u-2', '--signature', personSignature(SECRET, 'u-1')])).toMatchObject({ code: 1, out: 'invalid: bad_signature' })
    expect(run(['verify', '--id', 'u-1', '--signature', 'not-a-signature'])).toMatchObject({ code: 1 })
  })

  it('prints the snippet for a tracker URL and token', () => {
    const { code, out } = run(['snippet', '--src', 'https://cdn.example/tracker.js', '--token', 'GSN-1-A'])
    expect(code).toBe(0)
    expect(out).toMatch(/^<script>\n!function/)
    expect(out).toContain("t.src='https://cdn.example/tracker.js'")
    expect(out).toContain('_gs("GSN-1-A");\n</script>')
  })

  it('answers bad input with one line on stderr, a pointer to the usage, and exit 2', () => {
    for (const args of [['sign'], ['sign', '--id', 'x', '--scheme', 'rot13'], ['snippet', '--src', 'javascript:alert(1)', '--token', 'T'], ['launch'], ['sign', '--id', 'x', '--bogus'], []]) {
      const r = run(args)
      expect(r.code, args.join(' ')).toBe(2)
      if (args.length) expect(r.err.split('\n')).toEqual([expect.stringMatching(/^signet: /), "Run 'signet help' for usage."])
    }
    expect(run(['sign', '--id', 'x'], {})).toMatchObject({ code: 2, err: expect.stringContaining('no secret') })
    expect(run(['help'])).toMatchObject({ code: 0, out: expect.stringContaining('Usage: signet <command>') })
    expect(run(['sign', '--help'])).toEqual({
      code: 0,
      out: 'Usage: signet sign --id ID [--scheme hex|base64|token|jwt] [--ttl SECONDS] [--secret-file FILE]\n      Print the signature of a person id (jwt: an HS256 token, sub the id, expiring in --ttl\n      seconds, default 3600). The secret (a Verification Key for token) comes from\n      SIGNET_SECRET or --secret-file.',
      err: '',
    })
    expect(run(['collector', '-h']).out.split('\n')).toHaveLength(15)
    expect(run(['--version'])).toEqual({ code: 0, out: JSON.parse(readFileSync('package.json', 'utf8')).version, err: '' })
  })

  it('runs a collector that accepts signed events and refuses forged ones, and exports what it stored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    writeFileSync(join(dir, 'secret'), SECRET)
    const db = join(dir, 'signet.db')
    const collector = startCollector(['--project', 'GSN-CLI', '--mode', 'enforce', '--secret-file', join(dir, 'secret'), '--db', db, '--data', join(dir, 'none.jsonl')])
    try {
      const url = await collector.url
      const event = (id: string, signature: string, receivedAfter = '') => ({ id, type: 'event', name: 'cli' + receivedAfter, ts: Date.now() + 1, anonymousId: 'a', personId: 'u', signature })
      const send = (events: unknown[]) => fetch(url, { method: 'POST', body: JSON.stringify({ v: 1, project: 'GSN-CLI', sentAt: 1, events }) }).then((r) => r.json())
      expect(await send([event('good', personSignature(SECRET, 'u')), event('forged', personSignature('guess', 'u'))])).toEqual({
        accepted: 1,
        rejected: [{ id: 'forged', reason: 'bad_signature' }],
      })
      const since = new Date().toISOString()
      await new Promise((r) => setTimeout(r, 5))
      await send([event('later', personSignature(SECRET, 'u'))])
      expect((await fetch(url.replace('/track', '/tracker.js'))).status).toBe(200)
      const exported = run(['export', '--db', db], {})
      expect(exported.code).toBe(0)
      expect(exported.out.split('\n').map((l) => JSON.parse(l).id)).toEqual(['good', 'later'])
      expect(exported.out).not.toContain('signature')
      expect(run(['export', '--db', db, '--since', since], {}).out.split('\n').map((l) => JSON.parse(l).id)).toEqual(['later'])
      expect(run(['export', '--db', db, '--project', 'OTHER'], {}).out).toBe('')
    } catch (e) {
      throw new Error(`${e}\n--- collector output ---\n${collector.log()}`)
    } finally {
      expect((await collector.stop()).code).toBe(0)
    }
  })

  it('signs and verifies an HS256 JWT (--scheme jwt), which a jwt collector accepts', async () => {
    const signed = run(['sign', '--id', 'u-9', '--scheme', 'jwt', '--ttl', '600'])
    expect(signed.code).toBe(0)
    const [header, payload] = signed.out.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' })
    expect(payload.sub).toBe('u-9')
    expect(payload.exp - payload.iat).toBe(600)
    expect(run(['verify', '--id', 'u-9', '--signature', signed.out, '--scheme', 'jwt'])).toEqual({ code: 0, out: 'valid', err: '' })
    expect(run(['verify', '--id', 'u-1', '--signature', signed.out, '--scheme', 'jwt'])).toMatchObject({ code: 1, out: 'invalid: person_mismatch' })
    expect(run(['verify', '--id', 'u-9', '--signature', signed.out, '--scheme', 'jwt'], { SIGNET_SECRET: 'another' })).toMatchObject({ code: 1, out: 'invalid: bad_signature' })
    expect(run(['sign', '--id', 'u-9', '--scheme', 'jwt', '--ttl', '31536000'])).toMatchObject({ code: 2, err: expect.stringMatching(/--ttl must be/) })
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    const collector = startCollector(['--project', 'GSN-JWT', '--scheme', 'jwt', '--db', join(dir, 'j.db')], { SIGNET_SECRET: SECRET })
    try {
      const events = [{ id: 'j1', type: 'event', name: 'x', ts: Date.now(), anonymousId: 'a', personId: 'u-9', signature: signed.out }]
      expect(await (await fetch(await collector.url, { method: 'POST', body: JSON.stringify({ v: 1, project: 'GSN-JWT', sentAt: Date.now(), events }) })).json()).toEqual({ accepted: 1, rejected: [] })
    } finally {
      await collector.stop()
    }
  })

  it('verify refuses a maximum age of Infinity, as the collector does (it would accept a token of any age)', () => {
    const key = Buffer.from('abcd;0011').toString('base64')
    const old = verificationToken(key, 'u-1', Date.now() - 2 * 365 * 86_400_000)
    for (const age of ['Infinity', '0', 'soon'])
      expect(run(['verify', '--id', 'u-1', '--signature', old, '--scheme', 'token', '--max-age', age], { SIGNET_SECRET: key })).toMatchObject({
        code: 2,
        err: expect.stringMatching(/^signet: --max-age must be a positive number of seconds\n/),
      })
    expect(run(['verify', '--id', 'u-1', '--signature', old, '--scheme', 'token'], { SIGNET_SECRET: key })).toMatchObject({ code: 1, out: 'invalid: expired_signature' })
  })

  it('checks its configuration before it prints anything of it or creates a store: one line, no password, exit 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    const db = join(dir, 'signet.db')
    const bad = spawnSync(process.execPath, [CLI, 'collector', '--db', db, '--scheme', 'token'], { env: { PATH: process.env.PATH!, SIGNET_SECRET: 'not-a-verification-key' }, encoding: 'utf8' })
    expect(bad.status).toBe(2)
    expect(bad.stdout).toBe('')
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).not.toContain('not-a-verification-key')
    expect(existsSync(db)).toBe(false)
    const url = spawnSync(process.execPath, [CLI, 'collector'], { env: { PATH: process.env.PATH!, SIGNET_SECRET: SECRET, SIGNET_DATABASE_URL: 'signet:hunter2@db.internal/events' }, encoding: 'utf8' })
    expect([url.status, url.stdout, url.stderr.trim()]).toEqual([2, '', 'signet: SIGNET_DATABASE_URL must be a postgres:// or postgresql:// URL (postgres://user:password@host:5432/database)'])
  })

  it('forgets a person while the collector runs: every event of theirs and of their anonymous id, once; the rest stays', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    const db = join(dir, 'signet.db')
    const collector = startCollector(['--project', 'GSN-CLI', '--db', db, '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: SECRET })
    try {
      const url = await collector.url
      const event = (id: string, anonymousId: string, personId?: string) => ({ id, type: 'event', name: 'x', ts: Date.now(), anonymousId, personId, signature: personId && personSignature(SECRET, personId) })
      const body = JSON.stringify({ v: 1, project: 'GSN-CLI', sentAt: Date.now(), events: [event('a0', 'anon-a'), event('a1', 'anon-a', 'alice'), event('a2', 'anon-a', 'alice'), event('b1', 'anon-b', 'bob')] })
      expect(await (await fetch(url, { method: 'POST', body })).json()).toEqual({ accepted: 4, rejected: [] })
      expect(run(['forget', '--person', 'alice', '--project', 'GSN-CLI', '--db', db], {})).toEqual({ code: 0, out: 'forgot 3 events of alice', err: '' })
      expect(run(['forget', '--person', 'alice', '--db', db], {})).toEqual({ code: 0, out: 'forgot 0 events of alice', err: '' })
      expect(run(['export', '--db', db], {}).out.split('\n').map((l) => JSON.parse(l).id)).toEqual(['b1'])
      // Her tracker sends one again: absorbed, not stored.
      expect(await (await fetch(url, { method: 'POST', body: JSON.stringify({ v: 1, project: 'GSN-CLI', sentAt: Date.now(), events: [event('a1', 'anon-a', 'alice')] }) })).json()).toEqual({
        accepted: 1,
        rejected: [],
      })
      expect(run(['export', '--db', db], {}).out.split('\n').map((l) => JSON.parse(l).id)).toEqual(['b1'])
      expect(run(['forget', '--person', 'x', '--db', join(dir, 'none.db')], {})).toMatchObject({ code: 2, err: `signet: no store at ${join(dir, 'none.db')}` })
    } finally {
      await collector.stop()
    }
  })

  it('export, then import into another store: the same records, and the file left where it was, as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    const db = join(dir, 'a.db')
    const collector = startCollector(['--project', 'GSN-CLI', '--db', db, '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: SECRET })
    try {
      const url = await collector.url
      const events = ['e1', 'e2', 'e3'].map((id, i) => ({ id, type: 'event', name: 'n' + i, ts: Date.now(), anonymousId: 'a', personId: 'u', signature: personSignature(SECRET, 'u'), props: { i } }))
      expect(await (await fetch(url, { method: 'POST', body: JSON.stringify({ v: 1, project: 'GSN-CLI', sentAt: Date.now(), events }) })).json()).toMatchObject({ accepted: 3 })
    } finally {
      await collector.stop()
    }
    const exported = run(['export', '--db', db], {}).out
    const file = join(dir, 'events.jsonl')
    writeFileSync(file, exported + '\n')
    expect(run(['import', '--file', file, '--db', join(dir, 'b.db')], {})).toEqual({ code: 0, out: 'imported 3 events (0 already stored, 0 lines skipped)', err: '' })
    expect(run(['import', '--file', file, '--db', join(dir, 'b.db')], {})).toEqual({ code: 0, out: 'imported 0 events (3 already stored, 0 lines skipped)', err: '' })
    expect(readFileSync(file, 'utf8')).toBe(exported + '\n')
    expect(run(['export', '--db', join(dir, 'b.db')], {}).out).toBe(exported)
    expect(run(['import', '--file', join(dir, 'missing.jsonl')], {})).toMatchObject({ code: 2, err: expect.stringMatching(/^signet: --file .*missing.jsonl: no such file/) })
  })

  it('export: says what is wrong with a missing store or a bad date, in one line', () => {
    expect(run(['export', '--db', '/nonexistent/signet.db'], {})).toMatchObject({ code: 2, err: 'signet: no store at /nonexistent/signet.db' })
    expect(run(['export', '--since', 'yesterday'], {})).toMatchObject({ code: 2, err: expect.stringMatching(/^signet: --since must be a date/) })
  })

  it('a busy port is one line that says how to choose another', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    const first = startCollector(['--project', 'P', '--db', join(dir, 'a.db')], { SIGNET_SECRET: SECRET })
    try {
      const port = new URL(await first.url).port
      const second = startScript([CLI, 'collector', '--project', 'P', '--port', port, '--db', join(dir, 'new', 'b.db')], { SIGNET_SECRET: SECRET }, /Collector: (\S+)/)
      await expect(second.url).rejects.toThrow(/exited 1/)
      expect(second.log()).toBe(`signet: port ${port} on 127.0.0.1 is in use: set PORT (or --port) to another one\n`)
      expect(existsSync(join(dir, 'new'))).toBe(false)
    } finally {
      await first.stop()
    }
  })

  it("runs the README's production line as written: the project it names, its secret, two workers", async () => {
    const line = /^signet collector (.*?)\s+#/m.exec(readFileSync('README.md', 'utf8'))![1].split(/\s+/)
    expect(line).toEqual(expect.arrayContaining(['--mode', 'enforce', '--secret-file', './secret', '--workers', '2']))
    const project = line[line.indexOf('--project') + 1]
    const cwd = mkdtempSync(join(tmpdir(), 'signet-readme-'))
    writeFileSync(join(cwd, 'secret'), SECRET + '\n')
    const args = line.map((a, i) => (line[i - 1] == '--port' ? '0' : a))
    const child = startScript([join(process.cwd(), CLI), 'collector', ...args], {}, /Collector: (http:\/\/\S+\/track)/, cwd)
    try {
      const url = await child.url
      const event = { id: 'e1', type: 'pageview', ts: Date.now(), anonymousId: 'a', personId: 'u-1', signature: personSignature(SECRET, 'u-1'), page: { url: 'https://shop.example/' } }
      expect(await (await fetch(url, { method: 'POST', body: JSON.stringify({ v: 1, project, sentAt: Date.now(), events: [event] }) })).json()).toEqual({ accepted: 1, rejected: [] })
      expect(child.log()).toContain(`Project ${project}: Secure Mode enforce, 1 secret(s)`)
      expect(child.log()).toMatch(/2 worker processes/)
    } finally {
      expect((await child.stop()).code).toBe(0)
    }
    const exported = spawnSync(process.execPath, [join(process.cwd(), CLI), 'export'], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH! } })
    expect(exported.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).personId)).toEqual(['u-1'])
  })

  it('refuses to start without a project, or with Secure Mode and no secret: one line naming the flag, exit 2, no file made', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'signet-first-'))
    const collector = (args: string[], env: Record<string, string> = {}) => {
      const r = spawnSync(process.execPath, [join(process.cwd(), CLI), 'collector', '--port', '0', ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } })
      return { code: r.status, out: r.stdout, err: r.stderr }
    }
    expect(collector(['--mode', 'enforce'], { SIGNET_SECRET: SECRET })).toEqual({
      code: 2,
      out: '',
      err: 'signet: --project TOKEN is required: the token your pages’ snippet uses (or SIGNET_CONFIG for several projects)\n',
    })
    for (const mode of ['enforce', 'report'])
      expect(collector(['--project', 'GSN-1', '--mode', mode])).toEqual({
        code: 2,
        out: '',
        err: `signet: Secure Mode ${mode} needs the project's secret: pass --secret-file FILE (a file, one secret per line), set SIGNET_SECRET, or start with --mode off\n`,
      })
    expect(collector(['--project', 'GSN-1', '--secret-file', './secret'])).toMatchObject({ code: 2, err: 'signet: cannot read the secret file ./secret (ENOENT)\n' })
    writeFileSync(join(cwd, 'secret'), SECRET)
    expect(collector(['--project', 'GSN-1', '--secret-file', './secret', '--retention-days', 'a month'])).toMatchObject({
      code: 2,
      err: 'signet: --retention-days must be a whole number from 0 to 36500, got "a month"\n',
    })
    expect(collector(['--project', 'GSN-1', '--secret-file', './secret', '--ip', 'hashed'])).toMatchObject({ code: 2, err: 'signet: --ip must be truncated, full or none, got "hashed"\n' })
    expect(collector(['--project', 'GSN-1', '--secret-file', './secret', '--workers', '0'])).toMatchObject({ code: 2, err: expect.stringMatching(/^signet: --workers must be a whole number/) })
    // The same setting from the environment is named as the environment has it.
    expect(collector(['--project', 'GSN-1', '--secret-file', './secret'], { SIGNET_RETENTION_DAYS: 'x' })).toMatchObject({ code: 2, err: expect.stringMatching(/^signet: SIGNET_RETENTION_DAYS must be/) })
    expect(readdirSync(cwd)).toEqual(['secret'])
  })

  it('a missing database driver is one line saying what to install', async () => {
    await expect(loadDriver('better-sqlite3', () => import('signet-no-such-driver' as string), 'npm install better-sqlite3@12')).rejects.toThrow(
      /^signet: this store needs better-sqlite3: npm install better-sqlite3@12$/,
    )
  })
})
