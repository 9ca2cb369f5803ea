// The device's IndexedDB database `hienmau`: the send queue, donors looked up (with their last
// eligibility), the session and a few cached lists for offline use.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Item, QueueStore } from './queue';

export interface Me {
  id: string;
  username: string;
  role: 'admin' | 'coordinator' | 'hospital' | 'honors';
  chapter_id: string | null;
  hospital_id: string | null;
}

export interface Session {
  token: string;
  /** Epoch ms. */
  expires_at: number;
  user: Me;
  chapter_name?: string | null;
}

export interface BriefDonor {
  id: string;
  full_name: string;
  date_of_birth: string;
  sex: 'male' | 'female';
  blood_group: string | null;
  commune?: string | null;
}

export interface Eligibility {
  eligible: boolean;
  reason: string | null;
  next_eligible_on: string | null;
  max_volume_ml: number | null;
}

export interface PastDonation {
  id: string;
  component: string;
  volume_ml: number;
  outcome: 'collected' | 'deferred';
  donated_at: string;
  unit_code?: string | null;
  voided?: boolean;
}

export interface CachedDonor {
  id: string;
  donor: BriefDonor;
  /** Set for a donor registered on this device and not yet sent. */
  local?: boolean;
  eligibility?: { component: string; result: Eligibility; at: number };
  donations?: { items: PastDonation[]; at: number };
  seen_at: number;
}

interface Schema extends DBSchema {
  queue: { key: string; value: Item; indexes: { seq: number } };
  donors: { key: string; value: CachedDonor };
  session: { key: string; value: Session };
  cache: { key: string; value: { key: string; value: unknown; at: number } };
}

export type DB = IDBPDatabase<Schema>;

let opened: Promise<DB> | null = null;

export function db(): Promise<DB> {
  opened ??= openDB<Schema>('hienmau', 1, {
    upgrade(d) {
      const q = d.createObjectStore('queue', { keyPath: 'id' });
      q.createIndex('seq', 'seq');
      d.createObjectStore('donors', { keyPath: 'id' });
      d.createObjectStore('session');
      d.createObjectStore('cache', { keyPath: 'key' });
    },
  });
  return opened;
}

/** For tests: forget the open handle (a fresh fake IndexedDB follows). */
export function resetDbHandle(): void {
  opened = null;
}

export const idbQueue: QueueStore & { add(make: (seq: number) => Item[]): Promise<Item[]> } = {
  async all() {
    return (await db()).getAllFromIndex('queue', 'seq');
  },
  async put(items) {
    const tx = (await db()).transaction('queue', 'readwrite');
    await Promise.all([...items.map((i) => tx.store.put(i)), tx.done]);
  },
  async remove(ids) {
    const tx = (await db()).transaction('queue', 'readwrite');
    await Promise.all([...ids.map((id) => tx.store.delete(id)), tx.done]);
  },
  /** Adds new items numbered after the last one, in one transaction (two tabs cannot share a seq). */
  async add(make) {
    const tx = (await db()).transaction('queue', 'readwrite');
    const last = await tx.store.index('seq').openCursor(null, 'prev');
    const items = make((last?.value.seq ?? 0) + 1);
    for (const i of items) await tx.store.add(i);
    await tx.done;
    return items;
  },
};

export async function loadSession(): Promise<Session | undefined> {
  return (await db()).get('session', 'current');
}

export async function saveSession(s: Session | null): Promise<void> {
  const d = await db();
  if (s) await d.put('session', s, 'current');
  else await d.delete('session', 'current');
}

export async function getDonor(id: string): Promise<CachedDonor | undefined> {
  return (await db()).get('donors', id);
}

export async function putDonor(d: CachedDonor): Promise<void> {
  await (await db()).put('donors', d);
}

export async function allDonors(): Promise<CachedDonor[]> {
  return (await db()).getAll('donors');
}

export async function deleteDonor(id: string): Promise<void> {
  await (await db()).delete('donors', id);
}

export async function cacheGet<T>(key: string): Promise<{ value: T; at: number } | undefined> {
  const row = await (await db()).get('cache', key);
  return row ? { value: row.value as T, at: row.at } : undefined;
}

export async function cachePut(key: string, value: unknown): Promise<void> {
  await (await db()).put('cache', { key, value, at: Date.now() });
}
