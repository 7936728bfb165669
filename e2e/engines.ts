// The three engines people browse with, behind one small interface, for the scenarios of
// e2e/engines.spec.ts: Chromium through Playwright (as the rest of e2e/), Firefox through
// puppeteer-core over WebDriver BiDi (Debian's firefox-esr), WebKit through selenium-webdriver and
// WebKitGTK's WebKitWebDriver with its MiniBrowser (the engine Safari uses) on a virtual display.
// No browser is downloaded: each comes from the system, and an engine that is not installed says
// so in its tests' names (engines.spec.ts), never skipped silently.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { chromium } from '@playwright/test'
import { launchOptions } from './chromium'

/** A tab: where it is, a script run in it (an expression, its value JSON), closed. */
export interface Tab {
  goto(url: string): Promise<void>
  /** Evaluates a JavaScript expression in the page; resolves to its value (JSON-able). */
  run(expression: string): Promise<unknown>
  reload(): Promise<void>
  close(): Promise<void>
}

/** One browser profile of its own (cookies and storage shared by its tabs only). */
export interface Profile {
  tab(): Promise<Tab>
  close(): Promise<void>
}

export interface Engine {
  name: 'chromium' | 'firefox' | 'webkit'
  /** Why it cannot run here, or undefined. */
  missing?: string
  profile(): Promise<Profile>
  close(): Promise<void>
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
const pagesEngine = (name: Engine['name'], newContext: () => Promise<{ newPage(): Promise<PageLike>; close(): Promise<void> }>, close: () => Promise<void>): Engine => ({
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
          close: () => page.close(),
        }
      },
      close: () => context.close(),
    }
  },
  close,
})

async function chromiumEngine(): Promise<Engine> {
  const browser = await chromium.launch(launchOptions())
  return pagesEngine('chromium', () => browser.newContext(), () => browser.close())
}

async function firefoxEngine(): Promise<Engine> {
  const { default: puppeteer } = await import('puppeteer-core')
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true })
  return pagesEngine('firefox', () => browser.createBrowserContext(), () => browser.close())
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
 * WebKitGTK: one Xvfb display (unless there is a display) and one WebKitWebDriver for the engine;
 * a WebDriver session, which is a MiniBrowser of its own with its own storage, per profile; a
 * window per tab.
 */
async function webkitEngine(): Promise<Engine> {
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
  const binary = miniBrowser()!
  return {
    name: 'webkit',
    async profile() {
      const session = await new Builder()
        .usingServer(`http://127.0.0.1:${port}`)
        .withCapabilities({ browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary, args: ['--automation'] } })
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
            close: async () => (await here(), await session.close()),
          }
        },
        close: () => session.quit(),
      }
    },
    async close() {
      await stop(driver)
      if (xvfb) await stop(xvfb)
    },
  }
}

export const launchEngine = (name: Engine['name']): Promise<Engine> =>
  name == 'chromium' ? chromiumEngine() : name == 'firefox' ? firefoxEngine() : webkitEngine()
