// Runs the queue against IndexedDB and the server: on start, on each new record, when the
// connection returns, and at each retry's due time.
import { signal } from '@preact/signals';
import { httpTransport, online } from './api';
import { deleteDonor, getDonor, idbQueue, putDonor } from './db';
import { confirmExisting, discardIds, expiredSent, Sender, type Item } from './queue';
import { session, signedIn } from './state';

export const queueItems = signal<Item[]>([]);
/** Bumped after records were sent: the tally refreshes. */
export const sentTick = signal(0);
export const pausedForAuth = signal(false);
/** Called with (local id, server id) when an offline registration got its server id. */
export const settled = signal<{ local: string; server: string } | null>(null);

/**
 * The device's copy of a donor registered offline takes the server id once known, so that a
 * later record for that donor does not wait for a registration long since sent and dropped.
 */
async function settleLocalDonors(items: Item[]): Promise<void> {
  for (const i of items) {
    if (i.kind !== 'donor' || i.state !== 'sent' || !i.server_id) continue;
    const local = await getDonor(i.id);
    if (!local?.local) continue;
    const { local: _was, ...rest } = local;
    await putDonor({ ...rest, id: i.server_id, donor: { ...local.donor, id: i.server_id } });
    await deleteDonor(i.id);
    settled.value = { local: i.id, server: i.server_id };
  }
}

const sender = new Sender(idbQueue, httpTransport);
let timer: ReturnType<typeof setTimeout> | undefined;

export async function refreshQueue(): Promise<void> {
  const items = await idbQueue.all();
  const old = expiredSent(items, Date.now());
  if (old.length) await idbQueue.remove(old);
  queueItems.value = old.length ? items.filter((i) => !old.includes(i.id)) : items;
  await settleLocalDonors(queueItems.value);
}

export async function flush(): Promise<void> {
  const s = session.value;
  if (!s || !signedIn.value) {
    pausedForAuth.value = !!s && queueItems.value.some((i) => i.owner === s.user.id && i.state === 'queued');
    return;
  }
  pausedForAuth.value = false;
  clearTimeout(timer);
  const r = await sender.flush(s.user.id);
  await refreshQueue();
  if (r.sent) sentTick.value++;
  if (r.unauthorized) {
    pausedForAuth.value = true;
    return;
  }
  if (r.nextDue !== null) {
    timer = setTimeout(() => void flush(), Math.max(500, r.nextDue - Date.now()));
  }
}

/** "Send now": the waiting items are due at once instead of at their backoff time. */
export async function retryNow(): Promise<void> {
  const now = Date.now();
  await idbQueue.put(queueItems.value.filter((i) => i.state === 'queued').map((i) => ({ ...i, next_at: now })));
  await refreshQueue();
  await flush();
}

export async function enqueue(make: (seq: number) => Item[]): Promise<void> {
  await idbQueue.add(make);
  await refreshQueue();
  if (online.value) void flush();
}

export async function discard(id: string): Promise<void> {
  await idbQueue.remove(discardIds(queueItems.value, id));
  await refreshQueue();
}

export async function confirmDuplicate(donorId: string): Promise<string | null> {
  const updates = confirmExisting(queueItems.value, donorId);
  if (!updates.length) return null;
  await idbQueue.put(updates);
  await refreshQueue();
  void flush();
  const d = updates[0];
  return d && d.kind === 'donor' ? (d.server_id ?? null) : null;
}

export function startSync(): void {
  void refreshQueue().then(flush);
  // A failed request marked the app offline while the device has a network: ask the server
  // now and then whether it answers again (no other request may come while the queue waits).
  setInterval(() => {
    if (online.value || !navigator.onLine) return;
    fetch('/health', { cache: 'no-store' })
      .then((r) => {
        if (r.ok) {
          online.value = true;
          void flush();
        }
      })
      .catch(() => undefined);
  }, 15_000);
  window.addEventListener('online', () => void flush());
  // Another tab may have recorded: its items show here too.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refreshQueue().then(flush);
  });
}
