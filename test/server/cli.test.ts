// @vitest-environment node
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { personSignature, userSignature } from '../../src/server/signature'
import { verificationToken } from '../../src/server/token'

const CLI = 'dist/cli.mjs'
const SECRET = 'cli-secret'
const run = (args: string[], env: Record<string, string> = { SIGNET_SECRET: SECRET }) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH!, ...env } })
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() }
}

/** Starts a server script and resolves to the first URL matching `pattern` in its output. */
function startScript(args: string[], env: Record<string, string>, pattern: RegExp) {
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH!, ...env } })
  let log = ''
  child.stderr.on('data', (d) => (log += d))
  const url = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      log += d
      const m = pattern.exec(log)
      if (m) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`exited ${code}\n${log}`)))
  })
  return { child, url, log: () => log }
}

describe('npm start (dist/start.mjs)', () => {
  it('serves the demo page, the tracker and the collector', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-start-'))
    const { child, url, log } = startScript(['dist/start.mjs'], { PORT: '0', SIGNET_DATA: join(dir, 'events.jsonl') }, /Demo: (http:\/\/\S+)\//)
    try {
      const base = await url
      const login = await fetch(base + '/demo/login?as=alice', { redirect: 'manual' })
      const cookie = login.headers.get('set-cookie')!.split(';')[0]
      const page = await (await fetch(base + '/', { headers: { cookie } })).text()
      expect(page).toContain("_gs('identify'")
      expect(await (await fetch(base + '/demo/signature?id=alice', { headers: { cookie } })).text()).toMatch(/^[0-9a-f]{64}$/)
      expect((await fetch(base + '/tracker.js')).status).toBe(200)
      expect(await (await fetch(base + '/dashboard')).text()).toContain('<script src="/dashboard.js">')
      expect((await fetch(base + '/dashboard.js')).status).toBe(200)
      expect(log()).toContain('Secure Mode enforce')
    } finally {
      child.kill()
    }
  })
})

describe('signet CLI', () => {
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
  })

  it('runs a collector that accepts signed events and refuses forged ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'signet-cli-'))
    writeFileSync(join(dir, 'secret'), SECRET)
    const { child, url: listening, log } = startScript(
      [CLI, 'collector', '--port', '0', '--project', 'GSN-CLI', '--mode', 'enforce', '--secret-file', join(dir, 'secret'), '--data', join(dir, 'events.jsonl')],
      {},
      /Collector: (http:\/\/\S+)\/track/,
    )
    try {
      const url = await listening
      const event = (id: string, signature: string) => ({ id, type: 'event', name: 'cli', ts: 1, anonymousId: 'a', personId: 'u', signature })
      const res = await fetch(url + '/track', {
        method: 'POST',
        body: JSON.stringify({ v: 1, project: 'GSN-CLI', sentAt: 1, events: [event('good', personSignature(SECRET, 'u')), event('forged', personSignature('guess', 'u'))] }),
      })
      expect(await res.json()).toEqual({ accepted: 1, rejected: [{ id: 'forged', reason: 'bad_signature' }] })
      expect((await fetch(url + '/tracker.js')).status).toBe(200)
    } catch (e) {
      throw new Error(`${e}\n--- collector output ---\n${log()}`)
    } finally {
      child.kill()
    }
  })
})
