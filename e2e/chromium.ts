import { existsSync } from 'node:fs'

// Debian's Chromium where it is installed (CI, and machines that cannot download browsers);
// otherwise Playwright's own browser, as `npx playwright install` sets up on a laptop.
const SYSTEM_CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update']

/** How every test's Chromium is launched, with `args` added (a test that maps host names launches its own). */
export const launchOptions = (...args: string[]) => (existsSync(SYSTEM_CHROMIUM) ? { executablePath: SYSTEM_CHROMIUM, args: [...ARGS, ...args] } : { args })
