import { defineConfig } from '@playwright/test'
import { existsSync } from 'node:fs'

// Debian's Chromium where it is installed (CI, and machines that cannot download browsers);
// otherwise Playwright's own browser, as `npx playwright install` sets up on a laptop.
const SYSTEM_CHROMIUM = '/usr/bin/chromium'

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  reporter: 'list',
  use: {
    browserName: 'chromium',
    trace: 'retain-on-failure',
    launchOptions: existsSync(SYSTEM_CHROMIUM)
      ? {
          executablePath: SYSTEM_CHROMIUM,
          args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'],
        }
      : {},
  },
})
