// The three engines people browse with, behind one small interface, for the scenarios of
// e2e/engines.spec.ts: Chromium through Playwright (as the rest of e2e/), Firefox through
// puppeteer-core over WebDriver BiDi (Debian's firefox-esr), WebKit through selenium-webdriver and
// WebKitGTK's WebKitWebDriver with its MiniBrowser (the engine Safari uses) on a virtual display.
// No browser is downloaded: each comes from the system, and an engine that is not installed says
// so in its tests' names (engines.spec.ts), never skipped silently.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createServer as createHttpServer, request } from 'node:http'
import { createServer } from 'node:net'
import { chromium } from '@playwright/test'
import { launchOptions } from './chromium'
import { test } from './fixtures'

/** A tab: where it is, a script run in it (an expression, its value JSON), closed. */
export interface Tab {
  goto(url: string): Promise<void>
  /** Evaluates a JavaScript expression in the page; resolves to its value (JSON-able). */
  run(expression: string): Promise<unknown>
  reload(): Promise<void>
  /** The cookies the browser keeps for url, with when each expires (seconds since the epoch; undefined: the session's). */
  cookies(url: string): Promise<{ name: string; domain: string; expires?: number }[]>
  close(): Promise<void>
}

/** One browser profile of its own (cookies and storage shared by its tabs only). */
export interface Profile {
  tab(): Promise<Tab>
  close(): Promise<void>
}

export interface Engine {
  name: 'chromium' | 'firefox' | 'webkit'
  profile(): Promise<Profile>
  close(): Promise<void>
}

export interface EngineOptions {
  /** Host names the browser resolves to 127.0.0.1 (the URL's port kept), so that pages can be on real domains and subdomains. */
  hosts?: string[]
}

const FIREFOX = '/usr/bin/firefox-esr'
const WEBKIT_DRIVER = '/usr/bin/WebKitWebDriver'
const miniBrowser = () => {
  const lib = '/usr/lib/x86_64-linux-gnu'
  const dir = existsSync(lib) ? readdirSync(lib).filter((d) => d.startsWith('webkit2gtk-4.')).sort().pop() : undefined
  return dir && existsSync(`${lib}/${dir}/MiniBrowser`) ? `${lib}/${dir}/MiniBrowser` : undefined
}
const has = (path: string) => existsSync(path)

export function engineMissing(name: Engine['name']): string | undefined {
  if (name == 'firefox') return has(FIREFOX) ? undefined : `${FIREFOX} (Debian: firefox-esr)`
  if (name == 'webkit') {
    if (!has(WEBKIT_DRIVER) || !miniBrowser()) return 'WebKitWebDriver and MiniBrowser (Debian: webkit2gtk-driver)'
    if (!process.env.DISPLAY && !has('/usr/bin/Xvfb')) return 'a display, or Xvfb (Debian: xvfb)'
  }
  return undefined
}

/**
 * Playwright's and puppeteer's pages and contexts have the same shape for what the scenarios do:
 * an engine over either, given how it opens a profile.
 */
type PageLike = { goto(url: string): Promise<unknown>; evaluate(expression: string): Promise<unknown>; reload(): Promise<unknown>; close(): Promise<void> }
type Cookie = { name: string; domain: string; expires: number }
const pagesEngine = (
  name: Engine['name'],
  newContext: () => Promise<{ newPage(): Promise<PageLike>; close(): Promise<void> }>,
  cookies: (page: PageLike, url: string) => Promise<Cookie[]>,
  close: () => Promise<void>,
): Engine => ({
  name,
  async profile() {
    const context = await newContext()
    return {
      async tab() {
        const page = await context.newPage()
        return {
          goto: async (url) => void (await page.goto(url)),
          run: (expression) => page.evaluate(expression),
          reload: async () => void (await page.reload()),
          // Both drivers say -1 for a session cookie.
          cookies: async (url) => (await cookies(page, url)).map((c) => ({ name: c.name, domain: c.domain, expires: c.expires > 0 ? c.expires : undefined })),
          close: () => page.close(),
        }
      },
      close: () => context.close(),
    }
  },
  close,
})

async function chromiumEngine({ hosts = [] }: EngineOptions): Promise<Engine> {
  const browser = await chromium.launch(launchOptions(...(hosts.length ? [`--host-resolver-rules=${hosts.map((h) => `MAP ${h} 127.0.0.1`).join(',')}`] : [])))
  return pagesEngine(
    'chromium',
    () => browser.newContext(),
    (page, url) => (page as unknown as import('@playwright/test').Page).context().cookies(url),
    () => browser.close(),
  )
}

async function firefoxEngine({ hosts = [] }: EngineOptions): Promise<Engine> {
  const { default: puppeteer } = await import('puppeteer-core')
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: hosts.length ? { 'network.dns.localDomains': hosts.join(',') } : {},
  })
  return pagesEngine(
    'firefox',
    () => browser.createBrowserContext(),
    (page, url) => (page as unknown as import('puppeteer-core').Page).cookies(url),
    () => browser.close(),
  )
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
const stop = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill())))

/**
 * A forward proxy for MiniBrowser, which has no host resolver rules: a request for one of `hosts`
 * goes to 127.0.0.1 at the URL's port, any other where it was going (MiniBrowser sends requests
 * for 127.0.0.1 and localhost here too, whatever --ignore-host says).
 */
async function hostsProxy(hosts: string[]) {
  const server = createHttpServer((req, res) => {
    const url = new URL(req.url!)
    const upstream = request({ host: hosts.includes(url.hostname) ? '127.0.0.1' : url.hostname, port: url.port || 80, path: url.pathname + url.search, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers)
      answer.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as { port: number }).port, close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))) }
}

/**
 * WebKitGTK: one Xvfb display (unless there is a display) and one WebKitWebDriver for the engine;
 * a WebDriver session, which is a MiniBrowser of its own with its own storage, per profile; a
 * window per tab. (MiniBrowser's --enable-itp did not reach WebDriver's sessions: a script's
 * cookie kept the lifetime it asked for, where Safari's tracking prevention caps it at 7 days.)
 */
async function webkitEngine({ hosts = [] }: EngineOptions): Promise<Engine> {
  const { Builder } = await import('selenium-webdriver')
  let display = process.env.DISPLAY
  let xvfb: ChildProcess | undefined
  if (!display) {
    const n = 90 + Math.floor(Math.random() * 400)
    xvfb = spawn('Xvfb', [`:${n}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], { stdio: 'ignore' })
    display = `:${n}`
    await new Promise((r) => setTimeout(r, 500))
  }
  const port = await freePort()
  const driver = spawn(WEBKIT_DRIVER, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } })
  for (let i = 0; i < 50; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false)
    if (up) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const proxy = hosts.length ? await hostsProxy(hosts) : undefined
  const args = ['--automation', ...(proxy ? [`--proxy=http://127.0.0.1:${proxy.port}`, '--ignore-host=127.0.0.1,localhost'] : [])]
  const binary = miniBrowser()!
  return {
    name: 'webkit',
    async profile() {
      const session = await new Builder()
        .usingServer(`http://127.0.0.1:${port}`)
        .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary, args } })
        .build()
      const first = await session.getWindowHandle()
      let used = false
      return {
        async tab() {
          // The session's first window is the first tab; each next one a new window of the same session.
          let handle = first
          if (used) {
            await session.switchTo().newWindow('tab')
            handle = await session.getWindowHandle()
          }
          used = true
          const here = () => session.switchTo().window(handle)
          return {
            goto: async (url) => (await here(), await session.get(url)),
            run: async (expression) => (await here(), session.executeScript<unknown>(`return (${expression})`)),
            reload: async () => (await here(), await session.navigate().refresh()),
            // WebDriver gives the cookies of the window's document, whose URL the scenario has gone to.
            cookies: async () => (await here(), (await session.manage().getCookies()).map((c) => ({ name: c.name, domain: c.domain!, expires: typeof c.expiry == 'number' ? c.expiry : c.expiry ? Math.floor(+c.expiry / 1000) : undefined }))),
            close: async () => (await here(), await session.close()),
          }
        },
        close: () => session.quit(),
      }
    },
    async close() {
      await stop(driver)
      await proxy?.close()
      if (xvfb) await stop(xvfb)
    },
  }
}

export const launchEngine = (name: Engine['name'], options: EngineOptions = {}): Promise<Engine> =>
  name == 'chromium' ? chromiumEngine(options) : name == 'firefox' ? firefoxEngine(options) : webkitEngine(options)

/** Runs fn in a profile of its own, closed however fn ends. */
export type InProfile = <T>(fn: (profile: Profile) => Promise<T>) => Promise<T>

/**
 * The tests of `body` once per engine, in a describe block named after it (and, where it is not
 * installed, what is missing: CI fails on it, a laptop skips it). One browser per engine for its
 * tests, taken in turn; each test opens the profiles it needs with `inProfile`.
 */
export function forEachEngine(options: EngineOptions, body: (name: Engine['name'], inProfile: InProfile) => void) {
  for (const name of ['chromium', 'firefox', 'webkit'] as const) {
    const missing = engineMissing(name)
    test.describe(`${name}${missing ? ` (not installed here: ${missing})` : ''}`, () => {
      test.describe.configure({ mode: 'default' })
      test.skip(!!missing && !process.env.CI, `${name} is not installed`)
      let engine: Engine | undefined
      test.beforeAll(async () => {
        test.setTimeout(60_000)
        engine = await launchEngine(name, options)
      })
      test.afterAll(async () => engine?.close())
      body(name, async (fn) => {
        const profile = await engine!.profile()
        try {
          return await fn(profile)
        } finally {
          await profile.close()
        }
      })
    })
  }
}
