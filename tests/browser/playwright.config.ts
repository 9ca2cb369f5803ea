import { defineConfig } from '@playwright/test';

// Debian's chromium (`apt-get install chromium`); Playwright downloads no browser
// (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 in CI, and nothing here calls `playwright install`).
const chromium = process.env.HIENMAU_E2E_CHROMIUM ?? '/usr/lib/chromium/chromium';

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  // One server, one browser: the tests share the seeded world, and the machine has 2 cores.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  forbidOnly: true,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    headless: true,
    locale: 'vi-VN',
    timezoneId: 'Asia/Ho_Chi_Minh',
    serviceWorkers: 'allow',
    trace: 'retain-on-failure',
    launchOptions: { executablePath: chromium, args: ['--no-sandbox'] },
  },
  projects: [
    {
      name: 'phone',
      use: { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: false, hasTouch: true },
    },
    {
      // Desktop width: the screenshots only; the behaviour is tested at phone width.
      name: 'desktop',
      testMatch: /screens\.spec\.ts/,
      use: { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
    },
  ],
});
