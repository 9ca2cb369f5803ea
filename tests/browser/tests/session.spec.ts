import { vi } from '../../../web/src/i18n/vi';
import { Api, type Tally } from '../harness/api';
import { adminApi, fold, newDonor, newDrive } from '../harness/seed';
import { test, expect, signIn, pickEvent, openDonor, recordCollected, queueCount, expectOnline, waitForServiceWorker } from './fixtures';

test('a lapsed session keeps the queue until the same user signs in again', async ({ page, context, world }) => {
  const admin = await adminApi(world);
  const who = { username: 'dieuphoi.bacha', password: 'mat-khau-cu-du-dai-01' };
  const user = await admin.post<{ id: string }>('/users', { ...who, role: 'coordinator', chapter_id: world.chapter.id });
  const { drive, event } = await newDrive(world, 'Hiến máu Mường Hum', 15);
  const donor = await newDonor(world, { blood_group: 'AB+' });

  await signIn(page, who);
  await waitForServiceWorker(page);
  await pickEvent(page, drive.name, event.site);
  await openDonor(page, fold(donor.full_name), donor.full_name);
  await context.setOffline(true);
  await expectOnline(page, false);
  await recordCollected(page, 'MH-0001');
  await expect(queueCount(page, 'queued')).toHaveText('1');

  // While the phone is offline the user's tokens stop working (a password change does that
  // at once, as an expiry would).
  await admin.call('PATCH', `/users/${user.id}`, { password: 'mat-khau-moi-du-dai-02' });
  await context.setOffline(false);
  await expect(page).toHaveURL(/\/signin$/, { timeout: 30_000 });
  await expect(page.getByText(vi['signin.expired'])).toBeVisible();

  // Another user on this phone: the record is kept, not sent under their name.
  await signIn(page, world.coordinator);
  await page.goto('/log');
  await expect(page.getByTestId('queue')).toContainText(vi['queue.other_user'].replace('{n}', '1'));
  await expect(queueCount(page, 'queued')).toHaveText('0');
  await page.waitForTimeout(3_000);
  expect((await admin.get<Tally>(`/drives/${drive.id}/tally`)).units).toBe(0);
  await page.getByTestId('signout').click();

  // The same user again: the record goes, once.
  await signIn(page, { username: who.username, password: 'mat-khau-moi-du-dai-02' });
  await pickEvent(page, drive.name, event.site);
  await expect(queueCount(page, 'sent')).toHaveText('1', { timeout: 30_000 });
  await expect(page.getByTestId('tally-units')).toHaveText('1');
  const tally = await admin.get<Tally>(`/drives/${drive.id}/tally`);
  expect(tally.units).toBe(1);
  expect(tally.by_blood_group['AB+']).toBe(1);
  const coordinatorApi = await Api.signIn(world.baseURL, who.username, 'mat-khau-moi-du-dai-02');
  const list = await coordinatorApi.get<{ items: { unit_code: string }[] }>(`/donors/${donor.id}/donations`);
  expect(list.items.map((d) => d.unit_code)).toEqual(['MH-0001']);
});
