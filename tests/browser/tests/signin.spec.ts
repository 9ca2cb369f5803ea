import { vi } from '../../../web/src/i18n/vi';
import { en } from '../../../web/src/i18n/en';
import { test, expect, signIn, pickEvent } from './fixtures';

test('a wrong password is refused and the right one signs in, showing who and which chapter', async ({ page, world }) => {
  await page.goto('/log');
  // Not signed in and online: any screen leads to the sign-in form.
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');

  await page.getByTestId('signin-username').fill(world.coordinator.username);
  await page.getByTestId('signin-password').fill('not-the-password-at-all');
  await page.getByTestId('signin-submit').click();
  await expect(page.getByTestId('signin-error')).toHaveText(vi['signin.failed']);
  await expect(page.getByTestId('signin-error')).toHaveAttribute('role', 'alert');

  await signIn(page, world.coordinator);
  await expect(page).toHaveURL(/\/log$/);
  await expect(page.getByTestId('whoami')).toContainText(world.chapter.name);
  await expect(page.getByTestId('whoami')).toContainText(vi['role.coordinator']);
  await expect(page.getByTestId('online-status')).toHaveAttribute('data-online', 'true');

  // The session survives a reload.
  await page.reload();
  await expect(page.getByTestId('whoami')).toContainText(world.coordinator.username);
  await expect(page).toHaveURL(/\/log$/);

  await page.getByTestId('signout').click();
  await expect(page).toHaveURL(/\/signin$/);
});

test('the English switch changes every text and is remembered', async ({ page, world }) => {
  await page.goto('/signin');
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
  await expect(page.getByTestId('signin-submit')).toHaveText(vi['signin.submit']);
  await expect(page.getByLabel(vi['signin.username'])).toBeVisible();

  await page.getByTestId('lang-switch').click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByTestId('signin-submit')).toHaveText(en['signin.submit']);
  await expect(page.getByLabel(en['signin.username'])).toBeVisible();
  await expect(page.getByLabel(en['signin.password'])).toBeVisible();

  await signIn(page, world.coordinator);
  await expect(page.getByTestId('whoami')).toContainText(en['role.coordinator']);
  await pickEvent(page, world.drive.name, world.event.site);
  await expect(page.getByTestId('tally')).toContainText(en['tally.title']);
  await expect(page.getByRole('heading', { name: en['log.title'] })).toBeVisible();

  // Remembered on this device.
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { name: en['log.title'] })).toBeVisible();

  await page.getByTestId('lang-switch').click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'vi');
  await expect(page.getByRole('heading', { name: vi['log.title'] })).toBeVisible();
});

test('a hospital user is kept out of the logging screen', async ({ page, world }) => {
  await signIn(page, world.hospitalUser);
  // Other roles land on the home screen, with no link to logging.
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('nav-log')).toHaveCount(0);

  await page.goto('/log');
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await expect(page.getByTestId('forbidden')).toContainText(vi['forbidden']);
  for (const id of ['drive-select', 'event-select', 'donor-search', 'donor-new', 'record-collected', 'queue']) {
    await expect(page.getByTestId(id)).toHaveCount(0);
  }
});
