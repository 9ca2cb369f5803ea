// The data the browser tests start from, made through the real HTTP API as an admin (and the
// users through `hienmau user create`), plus helpers that give a test data of its own.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Api, type DeferralReason, type Donor } from './api';
import { createUser, type Server } from './server';

export const ZONE = 'Asia/Ho_Chi_Minh';

/** Today in the server's zone, `YYYY-MM-DD`. */
export function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE }).format(new Date());
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

/** `dd/mm/yyyy`, as `Intl.DateTimeFormat('vi-VN')` writes a date. */
export function viDate(day: string): string {
  const [y, m, d] = day.split('-');
  return `${d}/${m}/${y}`;
}

export interface Account {
  id: string;
  username: string;
  password: string;
}

export interface World {
  baseURL: string;
  dir: string;
  admin: Account;
  coordinator: Account;
  hospitalUser: Account;
  chapter: { id: string; name: string };
  hospital: { id: string; name: string };
  drive: { id: string; name: string; target_units: number };
  event: { id: string; site: string };
  eligible: Donor;
  recent: Donor & { donated_on: string; next_eligible_on: string };
  deferralReasons: DeferralReason[];
}

const PASSWORD = 'mat-khau-du-dai-2026';

export async function seedWorld(server: Pick<Server, 'dir' | 'env' | 'baseURL'>, adminId: string): Promise<World> {
  const admin: Account = { id: adminId, username: 'quantri', password: PASSWORD };
  const api = await Api.signIn(server.baseURL, admin.username, admin.password);

  const chapter = await api.post<{ id: string; name: string }>('/chapters', {
    name: 'Hội Chữ thập đỏ tỉnh Lào Cai',
  });
  const coordinator: Account = { id: '', username: 'dieuphoi.laocai', password: PASSWORD };
  coordinator.id = createUser(server, { ...coordinator, role: 'coordinator', chapter: chapter.id });

  const hospital = await api.post<{ id: string; name: string }>('/hospitals', {
    name: 'Bệnh viện Đa khoa tỉnh Lào Cai',
    province: 'Lào Cai',
  });
  const hospitalUser: Account = { id: '', username: 'benhvien.laocai', password: PASSWORD };
  hospitalUser.id = createUser(server, { ...hospitalUser, role: 'hospital', hospital: hospital.id });

  const day = today();
  const drive = await api.post<World['drive']>('/drives', {
    name: 'Ngày hội hiến máu Sa Pa',
    chapter_id: chapter.id,
    starts_on: addDays(day, -1),
    ends_on: addDays(day, 2),
    target_units: 120,
  });
  const event = await api.post<World['event']>(`/drives/${drive.id}/events`, {
    site: 'Nhà văn hoá thị trấn Sa Pa',
    held_on: day,
    province: 'Lào Cai',
  });

  const eligible = await api.post<Donor>('/donors', {
    full_name: 'Nguyễn Thị Hoa',
    date_of_birth: '1994-05-12',
    sex: 'female',
    national_id: '010194123456',
    blood_group: 'O+',
    phone: '0912345678',
    weight_kg: 52,
    chapter_id: chapter.id,
  });

  // A whole-blood donation ten days ago, at an event of an earlier drive: the 84-day interval
  // makes this donor ineligible today, until day + 84.
  const donatedOn = addDays(day, -10);
  const pastDrive = await api.post<{ id: string }>('/drives', {
    name: 'Hiến máu tình nguyện Bát Xát',
    chapter_id: chapter.id,
    starts_on: addDays(day, -12),
    ends_on: addDays(day, -8),
  });
  const pastEvent = await api.post<{ id: string }>(`/drives/${pastDrive.id}/events`, {
    site: 'Trường THPT Bát Xát',
    held_on: donatedOn,
  });
  const recentDonor = await api.post<Donor>('/donors', {
    full_name: 'Lò Văn Páo',
    date_of_birth: '1988-11-03',
    sex: 'male',
    national_id: '010088654321',
    blood_group: 'A+',
    weight_kg: 61,
    chapter_id: chapter.id,
  });
  await api.post(`/events/${pastEvent.id}/donations`, {
    donor_id: recentDonor.id,
    component: 'whole_blood',
    volume_ml: 350,
    outcome: 'collected',
    donated_at: `${donatedOn}T09:30:00+07:00`,
    unit_code: 'BX-0001',
  });
  const recentRead = await api.get<Donor>(`/donors/${recentDonor.id}`);
  const nextEligible = addDays(donatedOn, 84);
  if (recentRead.next_eligible_on !== nextEligible) {
    throw new Error(`the server says ${recentRead.next_eligible_on} for the next donation, expected ${nextEligible}`);
  }
  const recent = { ...recentRead, donated_on: donatedOn, next_eligible_on: nextEligible };

  // Earlier arrivals at today's event, so that the tally on the screenshots is not empty.
  const arrivals: [string, string, 'male' | 'female', string, string][] = [
    ['Hoàng Thị Mai', '1992-08-20', 'female', 'O+', '010192246810'],
    ['Giàng A Sử', '1990-01-15', 'male', 'B+', '010090135790'],
    ['Vàng Thị Dợ', '1997-12-01', 'female', 'O+', '010197112233'],
  ];
  for (const [i, [full_name, date_of_birth, sex, blood_group, national_id]] of arrivals.entries()) {
    const d = await api.post<Donor>('/donors', {
      full_name,
      date_of_birth,
      sex,
      blood_group,
      national_id,
      weight_kg: 55,
      chapter_id: chapter.id,
    });
    await api.post(`/events/${event.id}/donations`, {
      donor_id: d.id,
      component: 'whole_blood',
      volume_ml: 350,
      outcome: 'collected',
      unit_code: `SP-00${i + 1}`,
    });
  }

  const deferralReasons = await api.get<DeferralReason[]>('/deferral-reasons');
  if (deferralReasons.length === 0) throw new Error('the server has no deferral reasons');

  return {
    baseURL: server.baseURL,
    dir: server.dir,
    admin,
    coordinator,
    hospitalUser,
    chapter,
    hospital,
    drive,
    event,
    eligible,
    recent,
    deferralReasons,
  };
}

export const ADMIN = { username: 'quantri', password: PASSWORD };

// --- Data of a test's own -------------------------------------------------------------------

const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Vũ', 'Đặng', 'Bùi', 'Đỗ', 'Hồ', 'Ngô', 'Dương', 'Lý', 'Giàng', 'Sùng', 'Hà'];
const GIVEN = ['Khánh', 'Phượng', 'Tuấn', 'Nhung', 'Quý', 'Thắm', 'Vĩnh', 'Yến', 'Lộc', 'Xuân', 'Hiếu', 'Sáng', 'Chiến', 'Ngọc', 'Kiên', 'Uyên'];

/**
 * A name no other donor of the run has: a counter kept in the run's folder (a worker that
 * restarts after a failed test keeps counting), spelled as family, middle and given name.
 */
export function uniqueName(world: World, sex: 'male' | 'female'): string {
  const file = path.join(world.dir, 'name-counter');
  const n = existsSync(file) ? Number(readFileSync(file, 'utf8')) : 0;
  writeFileSync(file, String(n + 1));
  const family = FAMILY[n % FAMILY.length];
  const given = GIVEN[Math.floor(n / FAMILY.length) % GIVEN.length];
  return `${family} ${sex === 'male' ? 'Văn' : 'Thị'} ${given}`;
}

/** Vietnamese letters folded to ASCII, lower case: what a coordinator types on a phone. */
export function fold(s: string): string {
  return s
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .toLowerCase();
}

/** A CCCD valid for the sex and year of birth (province 001, then random digits). */
export function cccd(sex: 'male' | 'female', dob: string): string {
  const year = Number(dob.slice(0, 4));
  const century = year >= 2000 ? 2 : 0;
  const sexDigit = century + (sex === 'female' ? 1 : 0);
  const rest = String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0');
  return `001${sexDigit}${dob.slice(2, 4)}${rest}`;
}

export async function adminApi(world: World): Promise<Api> {
  return Api.signIn(world.baseURL, world.admin.username, world.admin.password);
}

export async function newDonor(
  world: World,
  fields: Partial<Omit<Donor, 'id'>> & { chapter_id?: string } = {},
): Promise<Donor> {
  const api = await adminApi(world);
  const sex = fields.sex ?? 'male';
  const dob = fields.date_of_birth ?? '1990-02-14';
  return api.post<Donor>('/donors', {
    full_name: uniqueName(world, sex),
    date_of_birth: dob,
    sex,
    national_id: cccd(sex, dob),
    blood_group: 'B+',
    weight_kg: 60,
    chapter_id: world.chapter.id,
    ...fields,
  });
}

/** A drive of the world's chapter covering today, with one event today. */
export async function newDrive(world: World, name: string, target = 30) {
  const api = await adminApi(world);
  const day = today();
  const drive = await api.post<{ id: string; name: string; target_units: number }>('/drives', {
    name,
    chapter_id: world.chapter.id,
    starts_on: day,
    ends_on: addDays(day, 1),
    target_units: target,
  });
  const event = await api.post<{ id: string; site: string }>(`/drives/${drive.id}/events`, {
    site: `Điểm hiến máu ${name}`,
    held_on: day,
  });
  return { drive, event };
}
