// What the browser benches share on the Node side: one way to launch Chromium and one median.
import { chromium } from '@playwright/test'
import { existsSync } from 'node:fs'

// Debian's Chromium where it is installed (as e2e/chromium.ts launches it for the tests), otherwise
// Playwright's own.
const SYSTEM_CHROMIUM = '/usr/bin/chromium'

export const launchChromium = () =>
  chromium.launch(
    existsSync(SYSTEM_CHROMIUM)
      ? { executablePath: SYSTEM_CHROMIUM, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update'] }
      : {},
  )

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
