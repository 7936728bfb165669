// The server examples of docs/examples as pasted: each started as written (its `signet-tracker`
// import is this checkout's build, by the package's own name), its page opened in the browser, and
// the signed-in person's pageview found where the example keeps events, verified. The package test
// (test/package.test.ts) runs the same files against the packed package, without a browser.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'

const EXAMPLES = fileURLToPath(new URL('../docs/examples/', import.meta.url))
const SECRET = 'examples-e2e-secret'

for (const file of ['node-http.mjs', 'express.mjs', 'fastify.mjs'])
  test(`${file}: its page, opened in Chromium, loads tracker.js from the example and stores the signed-in person's pageview, verified`, async ({ page }) => {
    // The example keeps events in events.jsonl of its working folder.
    const dir = mkdtempSync(join(tmpdir(), 'signet-example-'))
    const child = spawn(process.execPath, [join(EXAMPLES, file)], { cwd: dir, env: { PATH: process.env.PATH!, SIGNET_SECRET: SECRET, PORT: '0' } })
    let printed = ''
    child.stderr.on('data', (d) => (printed += d))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          const m = /listening on (\S+)/.exec(String(d))
          if (m) resolve(m[1])
        })
        child.on('exit', (code) => reject(new Error(`${file} exited ${code}: ${printed}`)))
      })
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
      expect(printed, "the example's stderr").toBe('')
    } finally {
      child.kill()
      rmSync(dir, { recursive: true, force: true })
    }
  })
