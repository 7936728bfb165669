// npm run screenshot: the pictures of docs/ and the README, taken from `npm start` as a newcomer
// clicks through it (Alice signs in, tracks, buys, an attacker forges her signature, Bob signs in and buys), then
// the console's views: docs/dashboard.png (overview, the pointer on today's bar), docs/console-security.png,
// docs/console-pages.png and docs/console-phone.png (the overview on a 390 px phone). Written by this
// script only, never by a test.
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { launchChromium } from '../bench/browser.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const child = spawn(process.execPath, [join(root, 'dist/start.mjs')], {
  env: { PATH: process.env.PATH, PORT: '0', SIGNET_DB: join(mkdtempSync(join(tmpdir(), 'signet-shot-')), 'signet.db') },
})
let log = ''
const [url, board] = await new Promise((resolve, reject) => {
  child.stdout.on('data', (d) => {
    log += d
    const m = /Demo: (http:\/\/\S+)\/\n.*Dashboard: (\S+)/.exec(log)
    if (m) resolve([m[1], m[2]])
  })
  child.on('exit', (code) => reject(new Error(`npm start exited ${code}\n${log}`)))
})
const browser = await launchChromium()
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const site = await context.newPage()
  await site.goto(url + '/')
  for (const step of ['#alice', '#track', '#buy', '#track', '#forge', '#bob', '#track', '#buy'])
    await Promise.all([site.click(step), ['#track', '#buy', '#forge'].includes(step) ? site.waitForTimeout(300) : site.waitForLoadState('load')])
  await site.waitForTimeout(500)
  const console_ = await context.newPage()
  await console_.goto(board)
  await console_.goto(url + '/dashboard#overview')
  await console_.locator('svg.chart').first().waitFor()
  await console_.locator('svg.chart').first().locator('rect:not(.column)').last().hover()
  await console_.screenshot({ path: join(root, 'docs/dashboard.png'), fullPage: true })
  await console_.goto(url + '/dashboard#security')
  await console_.locator('main tbody tr').first().waitFor()
  await console_.screenshot({ path: join(root, 'docs/console-security.png'), fullPage: true })
  await console_.goto(url + '/dashboard#pages')
  await console_.locator('main tbody tr').first().waitFor()
  await console_.screenshot({ path: join(root, 'docs/console-pages.png'), fullPage: true })
  await console_.setViewportSize({ width: 390, height: 844 })
  await console_.goto(url + '/dashboard#overview')
  await console_.locator('svg.chart').first().waitFor()
  await console_.screenshot({ path: join(root, 'docs/console-phone.png'), fullPage: true })
  console.log('wrote docs/dashboard.png, docs/console-security.png, docs/console-pages.png and docs/console-phone.png')
} finally {
  await browser.close()
  child.kill('SIGTERM')
}
