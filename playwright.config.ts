import { defineConfig } from '@playwright/test'
import { availableParallelism } from 'node:os'
import { launchOptions } from './e2e/chromium'

export default defineConfig({
  testDir: 'e2e',
  fullyParallel: true,
  // At least two: most of a browser test's time is waiting (on the collector, timers, another
  // engine's launch), and Playwright's default (half the cores) is one on a 2-core CI machine.
  workers: Math.max(2, Math.floor(availableParallelism() / 2)),
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  reporter: 'list',
  use: {
    browserName: 'chromium',
    trace: 'retain-on-failure',
    launchOptions: launchOptions(),
  },
})
