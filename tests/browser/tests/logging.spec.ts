import { vi } from '../../../web/src/i18n/vi';
import { Api, type Donation, type Tally } from '../harness/api';
import { addDays, fold, newDonor, newDrive, today, viDate } from '../harness/seed';
import { test, expect, signIn, pickEvent, openDonor, recordCollected, queueCount } from './fixtures';

test('log a donation: found by name without diacritics, eligible, recorded once, in the tally', async ({ page, world }) => {
  const { drive, event } = await newDrive(world, 'Hiến máu Mường Khương', 40);
  const donor = await newDonor(world, { blood_group: 'AB-', weight_kg: null });
  const api = await Api.signIn(world.baseURL, world.coordinator.username, world.coordinator.password);

  await signIn(page, world.coordinator);
  await pickEvent(page, drive.name, event.site);
  await expect(page.getByTestId('tally-units')).toHaveText('0');
  await expect(page.getByTestId('tally-target')).toHaveText('40');

  // Typed the way a phone keyboard without Vietnamese gives it: "nguyen van khanh" finds "Nguyễn Văn Khánh".
  const [, middle, given] = donor.full_name.split(' ');
  await openDonor(page, fold(`${middle} ${given}`), donor.full_name);
  // No weight on record: the engine asks for one before saying yes.
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'false');
  await expect(page.getByTestId('eligibility-reason')).toHaveText(vi['reason.weight_required']);
  await expect(page.getByTestId('component')).toHaveValue('whole_blood');

  await page.getByTestId('weight').fill('57');
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');
  // Preset to the largest standard bag (250, 350, 450 ml) within what the engine allows at 57 kg.
  const eligibility = await api.get<{ max_volume_ml: number }>(
    `/donors/${donor.id}/eligibility?component=whole_blood&weight_kg=57`,
  );
  const bag = Math.max(...[250, 350, 450].filter((b) => b <= eligibility.max_volume_ml));
  await expect(page.getByTestId('volume')).toHaveValue(String(bag));

  await recordCollected(page, 'MK-0001');
  await expect(page.getByTestId('queue-item').filter({ hasText: donor.full_name })).toHaveAttribute('data-state', 'sent');
  await expect(queueCount(page, 'sent')).toHaveText('1');
  await expect(queueCount(page, 'queued')).toHaveText('0');
  await expect(page.getByTestId('tally-units')).toHaveText('1');
  await expect(page.getByTestId('tally-group-AB-')).toHaveText('1');

  const tally = await api.get<Tally>(`/drives/${drive.id}/tally`);
  expect(tally.units).toBe(1);
  expect(tally.by_blood_group['AB-']).toBe(1);
  const donations = await api.get<{ items: Donation[] }>(`/donors/${donor.id}/donations`);
  expect(donations.items.map((d) => [d.event_id, d.outcome, d.unit_code, d.volume_ml])).toEqual([
    [event.id, 'collected', 'MK-0001', bag],
  ]);
  // The weight measured at screening is now on record.
  expect((await api.get<{ weight_kg: number }>(`/donors/${donor.id}`)).weight_kg).toBe(57);
});

test('an ineligible donor is shown with the reason and the date they may give again', async ({ page, world }) => {
  await signIn(page, world.coordinator);
  await pickEvent(page, world.drive.name, world.event.site);
  await openDonor(page, 'lo van pao', world.recent.full_name);

  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'false');
  await expect(page.getByTestId('eligibility-reason')).toHaveText(vi['reason.interval']);
  await expect(page.getByTestId('eligibility-next')).toContainText(viDate(world.recent.next_eligible_on));
  // Online: a fresh answer, not the device's cache.
  await expect(page.getByTestId('eligibility-stale')).toHaveCount(0);
  // The donation ten days ago is listed.
  await expect(page.getByTestId('last-donations')).toContainText(viDate(world.recent.donated_on));
});

test('a deferral with a reason from the catalogue, in two taps', async ({ page, world }) => {
  const { drive, event } = await newDrive(world, 'Hiến máu Bắc Hà', 25);
  const donor = await newDonor(world, { sex: 'female', date_of_birth: '1999-09-09', blood_group: 'O-' });
  const reason = world.deferralReasons.find((r) => r.min_days !== null);
  if (!reason || reason.min_days === null) throw new Error('the catalogue has no temporary reason');
  const api = await Api.signIn(world.baseURL, world.coordinator.username, world.coordinator.password);

  await signIn(page, world.coordinator);
  await pickEvent(page, drive.name, event.site);
  await openDonor(page, fold(donor.full_name), donor.full_name);
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');

  await page.getByTestId('record-deferral').click();
  const select = page.getByTestId('deferral-reason');
  // The reasons come from the server's catalogue, in Vietnamese.
  for (const r of world.deferralReasons) {
    await expect(select.locator('option', { hasText: r.label_vi })).toHaveCount(1);
  }
  await select.selectOption({ label: reason.label_vi });
  await expect(page.getByTestId('deferred-until')).toHaveValue(addDays(today(), reason.min_days));
  await page.getByTestId('record-deferral-submit').click();

  await expect(page.getByTestId('queue-item').filter({ hasText: donor.full_name })).toHaveAttribute('data-state', 'sent');
  await expect(page.getByTestId('tally-deferrals')).toHaveText('1');
  await expect(page.getByTestId('tally-units')).toHaveText('0');

  const donations = await api.get<{ items: (Donation & { deferral_reason?: string })[] }>(`/donors/${donor.id}/donations`);
  expect(donations.items).toHaveLength(1);
  expect(donations.items[0].outcome).toBe('deferred');
  const elig = await api.get<{ eligible: boolean; reason: string; next_eligible_on: string }>(
    `/donors/${donor.id}/eligibility?component=whole_blood`,
  );
  expect(elig).toMatchObject({ eligible: false, reason: 'deferred', next_eligible_on: addDays(today(), reason.min_days) });

  // The donor, opened again, shows the deferral and its end.
  await openDonor(page, fold(donor.full_name), donor.full_name);
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'false');
  await expect(page.getByTestId('eligibility-reason')).toHaveText(vi['reason.deferred']);
  await expect(page.getByTestId('eligibility-next')).toContainText(viDate(addDays(today(), reason.min_days)));
});

test('a donor is found by an exact CCCD or phone number as well as by name', async ({ page, world }) => {
  const donor = await newDonor(world, { phone: '0987654321' });
  await signIn(page, world.coordinator);
  await pickEvent(page, world.drive.name, world.event.site);
  await openDonor(page, donor.national_id ?? '', donor.full_name);
  await expect(page.getByTestId('eligibility')).toHaveAttribute('data-eligible', 'true');
  // Any accepted spelling of the number.
  await openDonor(page, '+84 987 654 321', donor.full_name);
});
