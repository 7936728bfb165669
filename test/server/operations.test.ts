// @vitest-environment node
// Issue 31: what operators run and watch, on `signet collector` as built: SIGHUP reloads the
// configuration's files (or keeps the running one, saying why), a worker that keeps ending is
// started again for ever, /healthz, /readyz and /metrics (summed over workers), and log lines with
// a time and a level, as text or JSON.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { personSignature } from '../../src/server/verify/signature'
import { post, startCollector, type Started } from './processes'

const PROJECT = 'GSN-OPS'
const TOKEN = 'ops-dashboard-token'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const running: Started[] = []
const dirs: string[] = []
afterAll(async () => {
  await Promise.all(running.map((c) => c.stop('SIGKILL')))
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }))
})
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'signet-ops-'))
  dirs.push(dir)
  return dir
}
const collector = (args: string[], env: Record<string, string>) => {
  const c = startCollector(args, env)
  running.push(c)
  return c
}

let n = 0
const signed = (secret: string, person = 'ada') =>
  JSON.stringify({ v: 1, project: PROJECT, sentAt: Date.now(), events: [{ id: `ops-${process.pid}-${n++}`, type: 'event', name: 'x', ts: Date.now(), anonymousId: 'a', personId: person, signature: personSignature(secret, person) }] })
/** Waits until the collector's output matches, or fails after ms. */
async function printed(c: Started, pattern: RegExp, ms = 10_000) {
  for (let waited = 0; !pattern.test(c.log()); waited += 50) {
    if (waited > ms) throw new Error(`never printed ${pattern}:\n${c.log()}`)
    await sleep(50)
  }
}

describe('SIGHUP', () => {
  it.each([1, 2])('with %i worker(s): reads SIGNET_CONFIG and its secret files again for new requests, and keeps the running configuration when the new one does not load', async (workers) => {
    const dir = tmp()
    const config = join(dir, 'signet.json')
    const secretFile = join(dir, 'secret')
    writeFileSync(secretFile, 'first-secret\n')
    writeFileSync(config, JSON.stringify({ projects: { [PROJECT]: { secureMode: 'enforce', secretFiles: [secretFile] } } }))
    const c = collector(['--workers', String(workers), '--db', join(dir, 'signet.db'), '--data', join(dir, 'none.jsonl')], { SIGNET_CONFIG: config })
    const url = await c.url
    const pids = c.workers()
    const accepted = async (secret: string) => {
      // Each on its own connection, so both workers answer some.
      const answers = await Promise.all(Array.from({ length: 6 }, () => post(url, signed(secret))))
      return answers.map((a) => (a.body?.rejected.length ? 'rejected' : a.status == 200 ? 'accepted' : a.status))
    }
    expect(await accepted('first-secret')).toEqual(Array(6).fill('accepted'))

    // A key rotation without a restart: the new secret beside the old, then the old one gone.
    writeFileSync(secretFile, 'second-secret\n')
    c.child.kill('SIGHUP')
    await printed(c, /SIGHUP: reloaded the configuration for new requests: Project GSN-OPS: Secure Mode enforce, 1 secret\(s\)/)
    await sleep(200)
    expect(await accepted('second-secret')).toEqual(Array(6).fill('accepted'))
    expect(await accepted('first-secret')).toEqual(Array(6).fill('rejected'))

    // A configuration that does not load is refused, with one line that names the file and never its text; the running one stays.
    writeFileSync(config, '{"projects": {"GSN-OPS": {"secrets": ["do-not-print-me"]')
    c.child.kill('SIGHUP')
    await printed(c, /SIGHUP: kept the running configuration: .*signet\.json is not valid JSON \(line 1, column \d+\)/)
    writeFileSync(secretFile, '')
    writeFileSync(config, JSON.stringify({ projects: { [PROJECT]: { secureMode: 'enforce', secretFiles: [secretFile] } } }))
    c.child.kill('SIGHUP')
    await printed(c, /SIGHUP: kept the running configuration: the secret file .*secret is empty/)
    expect(c.log()).not.toContain('do-not-print-me')
    expect(c.log()).not.toContain('second-secret')
    expect(await accepted('second-secret')).toEqual(Array(6).fill('accepted'))
    expect(c.workers()).toEqual(pids)
    expect(c.log()).not.toMatch(/ended \(/)
    expect((await c.stop()).code).toBe(0)
  }, 60_000)
})

describe('workers that keep ending', () => {
  it('are started again, each after a longer pause (logged), and the collector never gives up', async () => {
    const dir = tmp()
    const c = collector(['--project', PROJECT, '--db', join(dir, 'signet.db'), '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: 's', SIGNET_DASHBOARD_TOKEN: TOKEN })
    const url = await c.url
    let pid = c.workers()[0]
    // Seven ends in a row: the collector before stopped for good at the sixth within a minute.
    for (let i = 1; i <= 7; i++) {
      process.kill(pid, 'SIGKILL')
      await printed(c, new RegExp(`started worker (\\d+) in place of ${pid}`), 40_000)
      pid = Number(new RegExp(`started worker (\\d+) in place of ${pid}`).exec(c.log())![1])
    }
    expect(c.log()).toMatch(/worker \d+ ended \(SIGKILL\); starting another now; no worker is serving meanwhile/)
    expect(c.log()).toMatch(/worker \d+ ended \(SIGKILL\); starting another in [\d.]+ s \(7 ended in a row\)/)
    // The last one serves.
    for (let i = 0; i < 100 && (await post(url, signed('s'))).status != 200; i++) await sleep(100)
    expect((await post(url, signed('s'))).status).toBe(200)
    const metrics = await (await fetch(url.replace(/track$/, 'metrics'), { headers: { Authorization: `Bearer ${TOKEN}` } })).text()
    expect(metrics).toMatch(/^signet_worker_restarts_total 7$/m)
    expect((await c.stop()).code).toBe(0)
  }, 120_000)
})

describe('health, readiness and metrics', () => {
  it('answer without a token (health) or behind theirs (metrics), summed over both workers, with log lines as JSON', async () => {
    const dir = tmp()
    const c = collector(['--project', PROJECT, '--workers', '2', '--db', join(dir, 'signet.db'), '--data', join(dir, 'none.jsonl')], {
      SIGNET_SECRET: 's',
      SIGNET_DASHBOARD_TOKEN: TOKEN,
      SIGNET_METRICS_TOKEN: 'scrape-token',
      SIGNET_LOG_FORMAT: 'json',
    })
    const url = await c.url
    const base = url.replace(/\/track$/, '')
    expect([(await fetch(`${base}/healthz`)).status, await (await fetch(`${base}/healthz`)).json()]).toEqual([200, { status: 'ok' }])
    expect([(await fetch(`${base}/readyz`)).status, await (await fetch(`${base}/readyz`)).json()]).toEqual([200, { status: 'ready' }])
    // 40 batches, each on a connection of its own: both workers take some.
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(url, signed('s', `p${i}`))))
    expect(answers.every((a) => a.status == 200)).toBe(true)
    await Promise.all(Array.from({ length: 10 }, () => post(url, signed('wrong'))))
    expect((await fetch(`${base}/metrics`)).status).toBe(401)
    expect((await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(401)
    const scrape = async () => (await fetch(`${base}/metrics`, { headers: { Authorization: 'Bearer scrape-token' } })).text()
    // Each scrape may land on either worker: each answers the sum.
    for (let i = 0; i < 6; i++) {
      const text = await scrape()
      expect(text).toMatch(new RegExp(`^signet_events_accepted_total\\{project="${PROJECT}",verdict="verified"\\} 40$`, 'm'))
      expect(text).toMatch(new RegExp(`^signet_events_refused_total\\{project="${PROJECT}",reason="bad_signature"\\} 10$`, 'm'))
      expect(text).toMatch(/^signet_http_requests_total\{route="track",method="POST",status="200"\} 50$/m)
      expect(text).toMatch(/^signet_workers_serving 2$/m)
      expect(text).toMatch(/^signet_store_up 1$/m)
      expect(text).toMatch(/^signet_http_request_duration_seconds_count\{route="track"\} 50$/m)
    }
    // Every line as JSON: a time, a level, the message.
    const lines = c.log().trim().split('\n')
    for (const line of lines) {
      const o = JSON.parse(line)
      expect(o).toMatchObject({ level: expect.stringMatching(/^(info|warn|error)$/), msg: expect.any(String), pid: expect.any(Number) })
      expect(new Date(o.time).toISOString()).toBe(o.time)
    }
    expect(lines.map((l) => JSON.parse(l).msg)).toContain(`Collector: ${url}`)
    expect((await c.stop()).code).toBe(0)
  }, 60_000)

  it('text lines carry an ISO time and a level', async () => {
    const dir = tmp()
    const c = collector(['--project', PROJECT, '--db', join(dir, 'signet.db'), '--data', join(dir, 'none.jsonl')], { SIGNET_SECRET: 's' })
    await c.url
    for (const line of c.log().trim().split('\n')) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO |WARN |ERROR) \S/)
    expect((await c.stop()).code).toBe(0)
  })
})

describe('a client budget', () => {
  it('holds for the whole collector, not for each of its two workers', async () => {
    const dir = tmp()
    const c = collector(['--project', PROJECT, '--workers', '2', '--db', join(dir, 'signet.db'), '--data', join(dir, 'none.jsonl')], {
      SIGNET_SECRET: 's',
      SIGNET_CLIENT_EVENTS: '100',
      SIGNET_DASHBOARD_TOKEN: TOKEN,
    })
    const url = await c.url
    // Eight connections opened at once, kept open, taken in turn: both workers hold some.
    const agents = Array.from({ length: 8 }, () => new Agent({ keepAlive: true, maxSockets: 1 }))
    await Promise.all(agents.map((agent) => post(url, JSON.stringify({ v: 1, project: PROJECT, sentAt: Date.now(), events: [] }), agent)))
    // Budgets are per minute of the clock: all of this within one.
    const left = 60_000 - (Date.now() % 60_000)
    if (left < 25_000) await sleep(left + 100)
    let accepted = 0
    const statuses: number[] = []
    for (let i = 0; i < 24; i++) {
      const events = Array.from({ length: 10 }, () => ({ id: `anon-${n++}`, type: 'pageview', ts: Date.now(), anonymousId: 'one-visitor' }))
      const answer = await post(url, JSON.stringify({ v: 1, project: PROJECT, sentAt: Date.now(), events }), agents[i % agents.length])
      statuses.push(answer.status)
      accepted += answer.body?.accepted ?? 0
      // Workers report what they counted every 100 ms: each request here comes after the last one's report.
      await sleep(300)
    }
    agents.forEach((a) => a.destroy())
    // 100 events a minute from one address: ten batches, whichever worker took each.
    expect(accepted).toBe(100)
    expect(statuses.filter((s) => s == 429)).toHaveLength(14)
    const metrics = await (await fetch(url.replace(/track$/, 'metrics'), { headers: { Authorization: `Bearer ${TOKEN}` } })).text()
    expect(metrics).toMatch(/^signet_budget_refusals_total 14$/m)
    expect((await c.stop()).code).toBe(0)
  }, 60_000)
})
