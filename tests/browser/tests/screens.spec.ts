// The README's screenshots, at the width of the project that runs this file (390 px phone,
// 1280 px desktop): docs/screenshots/<screen>-<width>.png.
import { fold } from '../harness/seed';
import { test, expect, signIn, pickEvent, openDonor, recordCollected, expectOnline, waitForServiceWorker, screenshot } from './fixtures';

test('screens: sign-in, logging, the offline queue', async ({ page, context, world }) => {
  await page.goto('/signin');
  await expect(page.getByTestId('signin-submit')).toBeVisible();
  await screenshot(page, 'signin');

  await signIn(page, world.coordinator);
  await waitForServiceWorker(page);
  await pickEvent(page, world.drive.name, world.event.site);
  await expect(page.getByTestId('tally-units')).toHaveText('3');
  await openDonor(page, fold(world.eligible.full_name), world.eligible.full_name);
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');
  await expect(page.getByTestId('last-donations')).toBeVisible();
  await screenshot(page, 'log');

  await openDonor(page, 'lo van pao', world.recent.full_name);
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'false');
  await expect(page.getByTestId('eligibility-next')).toBeVisible();
  await screenshot(page, 'ineligible');

  // Offline: a record waits in the queue (this context is thrown away unsent).
  await context.setOffline(true);
  await expectOnline(page, false);
  await openDonor(page, fold(world.eligible.full_name), world.eligible.full_name);
  await recordCollected(page, `SCREEN-${page.viewportSize()?.width}`);
  await expect(page.locator('[data-testid=queue-item][data-state=queued]')).toHaveCount(1);
  await page.reload();
  await expect(page.locator('[data-testid=queue-item][data-state=queued]')).toHaveCount(1);
  await screenshot(page, 'queue-offline');
});
