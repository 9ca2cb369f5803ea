import { vi } from '../../../web/src/i18n/vi';
import { Api, type Donation, type Donor, type Tally } from '../harness/api';
import { cccd, fold, newDonor, newDrive, uniqueName } from '../harness/seed';
import {
  test,
  expect,
  signIn,
  pickEvent,
  openDonor,
  recordCollected,
  queueCount,
  expectOnline,
  waitForServiceWorker,
} from './fixtures';

const queued = (page: import('@playwright/test').Page) =>
  page.locator('[data-testid=queue-item][data-state=queued]');

test('offline: three donations (one for a donor registered offline) survive a reload and reach the tally exactly once', async ({
  page,
  context,
  world,
}) => {
  const { drive, event } = await newDrive(world, 'Hiến máu Y Tý', 60);
  const a = await newDonor(world, { blood_group: 'O+' });
  const b = await newDonor(world, { blood_group: 'A-', sex: 'female', date_of_birth: '2001-03-30' });
  const api = await Api.signIn(world.baseURL, world.coordinator.username, world.coordinator.password);

  await signIn(page, world.coordinator);
  await waitForServiceWorker(page);
  await pickEvent(page, drive.name, event.site);
  // Looked up while online: kept on the device with their eligibility.
  for (const d of [a, b]) {
    await openDonor(page, fold(d.full_name), d.full_name);
    await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');
  }

  await context.setOffline(true);
  await expectOnline(page, false);

  await openDonor(page, fold(a.full_name), a.full_name);
  await expect(page.getByTestId('eligibility-stale')).toBeVisible();
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');
  await recordCollected(page, 'YT-0001');
  await expect(queued(page)).toHaveCount(1);

  await openDonor(page, fold(b.full_name), b.full_name);
  await recordCollected(page, 'YT-0002', 58);
  await expect(queued(page)).toHaveCount(2);

  // A new donor, registered with no connection.
  const name = uniqueName(world, 'male');
  const nationalId = cccd('male', '1985-07-01');
  await page.getByTestId('donor-new').click();
  const form = page.getByTestId('donor-form');
  await form.getByTestId('donor-full-name').fill(name);
  await form.getByTestId('donor-dob').fill('1985-07-01');
  await form.getByTestId('donor-sex').selectOption('male');
  await form.getByTestId('donor-national-id').fill(nationalId);
  await form.getByTestId('donor-blood-group').selectOption('B-');
  await form.getByTestId('donor-weight').fill('66');
  await form.getByTestId('donor-form-submit').click();
  await expect(page.getByTestId('donor-panel')).toContainText(name);
  await recordCollected(page, 'YT-0003');
  await expect(queued(page)).toHaveCount(3);
  // The registration is listed apart (the counters count donations).
  await expect(page.locator('[data-testid=queue-donor][data-state=queued]')).toHaveCount(1);
  await expect(queueCount(page, 'queued')).toHaveText('3');
  await expect(queueCount(page, 'sent')).toHaveText('0');

  // The tab is reloaded with no connection: the app opens from the service worker and the
  // queue from IndexedDB, intact.
  await page.reload();
  await expectOnline(page, false);
  await expect(page.getByTestId('queue')).toBeVisible();
  await expect(queued(page)).toHaveCount(3);
  await expect(queueCount(page, 'queued')).toHaveText('3');
  await expect(page.locator('[data-testid=queue-donor][data-state=queued]')).toHaveCount(1);
  for (const who of [a.full_name, b.full_name, name]) {
    await expect(page.getByTestId('queue-item').filter({ hasText: who }).first()).toBeVisible();
  }
  // Nothing reached the server.
  expect((await api.get<Tally>(`/drives/${drive.id}/tally`)).units).toBe(0);

  await context.setOffline(false);
  await expectOnline(page, true);
  await expect(queueCount(page, 'queued')).toHaveText('0', { timeout: 30_000 });
  await expect(queueCount(page, 'sent')).toHaveText('3');
  await expect(page.locator('[data-testid=queue-item][data-state=sent]')).toHaveCount(3);
  await expect(queueCount(page, 'refused')).toHaveText('0');
  await pickEvent(page, drive.name, event.site);
  await expect(page.getByTestId('tally-units')).toHaveText('3');
  await expect(page.getByTestId('tally-group-O+')).toHaveText('1');
  await expect(page.getByTestId('tally-group-A-')).toHaveText('1');
  await expect(page.getByTestId('tally-group-B-')).toHaveText('1');

  // Exactly once, from the server's side too, also after another reload online.
  await page.reload();
  await expect(queueCount(page, 'queued')).toHaveText('0');
  const tally = await api.get<Tally>(`/drives/${drive.id}/tally`);
  expect(tally.units).toBe(3);
  expect(tally.by_blood_group).toMatchObject({ 'O+': 1, 'A-': 1, 'B-': 1 });
  const found = await api.get<{ items: Donor[] }>(`/donors?q=${encodeURIComponent(nationalId)}`);
  expect(found.items).toHaveLength(1);
  expect(found.items[0].full_name).toBe(name);
  const theirs = await api.get<{ items: Donation[] }>(`/donors/${found.items[0].id}/donations`);
  expect(theirs.items.map((d) => [d.event_id, d.unit_code])).toEqual([[event.id, 'YT-0003']]);
  for (const [d, code] of [
    [a, 'YT-0001'],
    [b, 'YT-0002'],
  ] as const) {
    const list = await api.get<{ items: Donation[] }>(`/donors/${d.id}/donations`);
    expect(list.items.map((x) => x.unit_code)).toEqual([code]);
  }
});

test('a record the server refuses stays on the device for review, with the reason', async ({ page, context, world }) => {
  const { drive, event } = await newDrive(world, 'Hiến máu Si Ma Cai', 20);
  const donor = await newDonor(world, { blood_group: 'B+' });
  const api = await Api.signIn(world.baseURL, world.coordinator.username, world.coordinator.password);

  await signIn(page, world.coordinator);
  await waitForServiceWorker(page);
  await pickEvent(page, drive.name, event.site);
  await openDonor(page, fold(donor.full_name), donor.full_name);

  await context.setOffline(true);
  await expectOnline(page, false);
  // BX-0001 is the bag code of the seeded donation ten days ago: the server refuses it (409).
  await recordCollected(page, 'BX-0001');
  await expect(queued(page)).toHaveCount(1);

  await context.setOffline(false);
  await expectOnline(page, true);
  const item = page.getByTestId('queue-item').filter({ hasText: donor.full_name });
  await expect(item).toHaveAttribute('data-state', 'refused', { timeout: 30_000 });
  await expect(item.getByTestId('queue-reason')).toHaveText(vi['error.conflict']);
  await expect(queueCount(page, 'refused')).toHaveText('1');
  await expect(page.getByTestId('tally-units')).toHaveText('0');
  expect((await api.get<{ items: Donation[] }>(`/donors/${donor.id}/donations`)).items).toHaveLength(0);

  // Kept after a reload, for review.
  await page.reload();
  await expect(page.getByTestId('queue-item').filter({ hasText: donor.full_name })).toHaveAttribute('data-state', 'refused');
  await expect(queueCount(page, 'refused')).toHaveText('1');

  // Reviewed: discarded by the coordinator, and only then gone.
  await page.getByTestId('queue-item').filter({ hasText: donor.full_name }).getByTestId('queue-discard').click();
  await expect(page.getByTestId('queue-item').filter({ hasText: donor.full_name })).toHaveCount(0);
  await expect(queueCount(page, 'refused')).toHaveText('0');
});
