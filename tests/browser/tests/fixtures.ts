// The seeded world, the server's address, and the steps a coordinator takes, written once
// against the UI contract (data-testid names of /work/wt/UI18.md).
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { test as base, expect, type Page, type Locator } from '@playwright/test';
import type { World, Account } from '../harness/seed';
import { REPO_ROOT } from '../harness/server';

function loadWorld(): World {
  const file = process.env.HIENMAU_E2E_WORLD;
  if (!file) throw new Error('HIENMAU_E2E_WORLD is not set: the global setup did not run');
  return JSON.parse(readFileSync(file, 'utf8')) as World;
}

export const test = base.extend<{ world: World; cspGuard: void }>({
  world: async ({}, use) => {
    await use(loadWorld());
  },
  // The server's Content-Security-Policy (script-src 'self') must not break the app: any
  // violation the browser reports fails the test that caused it.
  cspGuard: [
    async ({ page }, use) => {
      const violations: string[] = [];
      page.on('console', (msg) => {
        if (/Content Security Policy/i.test(msg.text())) violations.push(msg.text());
      });
      await use();
      expect(violations, 'Content-Security-Policy violations').toEqual([]);
    },
    { auto: true },
  ],
  // The port is chosen by the global setup, after the config was read.
  baseURL: async ({}, use) => {
    await use(loadWorld().baseURL);
  },
});

export { expect };

export const SCREENSHOTS = path.join(REPO_ROOT, 'docs', 'screenshots');

/** docs/screenshots/<name>-<viewport width>.png */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const width = page.viewportSize()?.width ?? 0;
  // Blinking carets and running transitions would make two runs differ for nothing.
  await page.screenshot({
    path: path.join(SCREENSHOTS, `${name}-${width}.png`),
    fullPage: true,
    animations: 'disabled',
    caret: 'hide',
  });
}

export async function signIn(page: Page, who: Pick<Account, 'username' | 'password'>): Promise<void> {
  await page.goto('/signin');
  await page.getByTestId('signin-username').fill(who.username);
  await page.getByTestId('signin-password').fill(who.password);
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('whoami')).toContainText(who.username);
}

/** The service worker controls the page: the app shell is cached for the offline steps. */
export async function waitForServiceWorker(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const reg = await navigator.serviceWorker.ready;
    if (!reg.active) throw new Error('no active service worker');
  });
  // The first load is not controlled yet; a reload is, as on a phone's second visit.
  const controlled = await page.evaluate(() => navigator.serviceWorker.controller !== null);
  if (!controlled) {
    await page.reload();
    await expect
      .poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null))
      .toBe(true);
  }
}

async function selectByText(select: Locator, text: string): Promise<void> {
  await expect(select.locator('option', { hasText: text })).toHaveCount(1);
  const value = await select.locator('option', { hasText: text }).getAttribute('value');
  if (value === null) throw new Error(`the option "${text}" has no value`);
  await select.selectOption(value);
}

/** On /log: the drive and today's event, chosen by their names. */
export async function pickEvent(page: Page, driveName: string, site: string): Promise<void> {
  if (!page.url().endsWith('/log')) await page.goto('/log');
  await selectByText(page.getByTestId('drive-select'), driveName);
  await selectByText(page.getByTestId('event-select'), site);
}

/** Types `query` in the donor search and opens the donor named `fullName`. */
export async function openDonor(page: Page, query: string, fullName: string): Promise<void> {
  const search = page.getByTestId('donor-search');
  await search.fill('');
  await search.fill(query);
  const result = page.getByTestId('donor-result').filter({ hasText: fullName });
  await expect(result).toHaveCount(1);
  await result.click();
  await expect(page.getByTestId('donor-panel')).toContainText(fullName);
}

/** Records a collection for the selected donor. */
export async function recordCollected(page: Page, unitCode: string, weightKg?: number): Promise<void> {
  if (weightKg !== undefined) await page.getByTestId('weight').fill(String(weightKg));
  await page.getByTestId('unit-code').fill(unitCode);
  await page.getByTestId('record-collected').click();
}

export function queueCount(page: Page, state: 'queued' | 'sent' | 'refused'): Locator {
  return page.getByTestId(`queue-count-${state}`);
}

export async function expectOnline(page: Page, online: boolean): Promise<void> {
  await expect(page.getByTestId('online-status')).toHaveAttribute('data-online', String(online));
}
