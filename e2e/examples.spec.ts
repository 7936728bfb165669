// The server examples of docs/examples as pasted: each started as written, its page opened in the
// browser, and the signed-in person's pageview found where the example keeps events, verified. The
// plain Node ones import `signet-tracker` as this checkout's build, by the package's own name (the
// package test, test/package.test.ts, runs them against the packed package, without a browser); the
// Next.js one is built and started by Next.js itself, with the packed package installed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test, type Page } from '@playwright/test'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const EXAMPLES = join(ROOT, 'docs/examples/')
const SECRET = 'examples-e2e-secret'

/** Resolves to the address the example prints once it listens (`pattern`'s first group); rejects, with what it printed, if it exits first. */
const listening = (child: ChildProcess, pattern: RegExp, output: { printed: string }) =>
  new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      output.printed += d
      const m = pattern.exec(output.printed)
      if (m) resolve(m[1])
    })
    child.stderr!.on('data', (d) => (output.printed += d))
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${output.printed}`)))
  })

/** Opens the example's page and finds the signed-in person's pageview in `dir`'s events.jsonl, verified, the tracker served once, no warning. */
async function tracksAsPasted(page: Page, url: string, dir: string) {
  const scripts: number[] = []
  page.on('response', (r) => r.url().endsWith('/tracker.js') && scripts.push(r.status()))
  const warnings: string[] = []
  page.on('console', (m) => m.type() == 'warning' && warnings.push(m.text()))
  await page.goto(url)
  // Whole lines only: the example may be appending the next ones as this reads.
  const events = () => {
    const text = existsSync(join(dir, 'events.jsonl')) ? readFileSync(join(dir, 'events.jsonl'), 'utf8') : ''
    return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l))
  }
  await expect.poll(() => events().map((e) => `${e.type} ${e.personId} ${e.verdict}`)).toContain('pageview u-123 verified')
  expect(events().filter((e) => e.verdict != 'verified'), 'events not verified').toEqual([])
  expect(scripts, 'answers to tracker.js').toEqual([200])
  expect(warnings, "the page's warnings").toEqual([])
}

for (const file of ['node-http.mjs', 'express.mjs', 'fastify.mjs'])
  test(`${file}: its page, opened in Chromium, loads tracker.js from the example and stores the signed-in person's pageview, verified`, async ({ page }) => {
    // The example keeps events in events.jsonl of its working folder.
    const dir = mkdtempSync(join(tmpdir(), 'signet-example-'))
    const child = spawn(process.execPath, [join(EXAMPLES, file)], { cwd: dir, env: { PATH: process.env.PATH!, SIGNET_SECRET: SECRET, PORT: '0' } })
    const output = { printed: '' }
    try {
      await tracksAsPasted(page, await listening(child, /listening on (\S+)/, output), dir)
      expect(output.printed.replace(/^listening on .*\n/, ''), "what the example printed besides its address").toBe('')
    } finally {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    }
  })

// Next.js builds for a minute or so on a busy 2-core machine (10 s idle).
test('next/: built and started by Next.js with the packed package installed, its page, opened in Chromium, stores the signed-in person\'s pageview, verified', async ({ page }) => {
  test.setTimeout(180_000)
  // Inside this checkout, so that next and react resolve from its node_modules; signet-tracker from the fixture's own, the packed package as npm installs it.
  mkdirSync(join(ROOT, '.scratch'), { recursive: true })
  const dir = mkdtempSync(join(ROOT, '.scratch', 'next-example-'))
  const run = (command: string, args: string[]) => {
    const done = spawnSync(command, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', SIGNET_SECRET: SECRET } })
    expect(done.status, `${command} ${args.join(' ')}: ${done.stdout}${done.stderr}`).toBe(0)
    return done.stdout
  }
  const next = join(ROOT, 'node_modules/next/dist/bin/next')
  let child: ChildProcess | undefined
  try {
    cpSync(join(EXAMPLES, 'next'), dir, { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'signet-next-example', private: true, type: 'module' }))
    const [pack] = JSON.parse(spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).stdout)
    run('npm', ['install', join(dir, pack.filename), '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'])
    run(process.execPath, [next, 'build'])
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number }
        probe.close(() => resolve(port))
      })
    })
    child = spawn(process.execPath, [next, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: dir, env: { PATH: process.env.PATH!, NEXT_TELEMETRY_DISABLED: '1', SIGNET_SECRET: SECRET } })
    await listening(child, /(Ready) in/, { printed: '' })
    await tracksAsPasted(page, `http://127.0.0.1:${port}/`, dir)
  } finally {
    child?.kill()
    rmSync(dir, { recursive: true, force: true })
  }
})
