import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeEach, describe, expect, it } from 'vitest';
import { db, idbQueue, resetDbHandle } from '../src/db';
import {
  backoff,
  confirmExisting,
  discardIds,
  expiredSent,
  KEEP_SENT_MS,
  nextStep,
  Sender,
  type DonationBody,
  type DonationItem,
  type DonorBody,
  type DonorItem,
  type Item,
  type Reply,
  type Transport,
} from '../src/queue';

const ALICE = 'user-alice';
const BOB = 'user-bob';

/** A server with the batch endpoint's client_ref semantics and POST /donors' Idempotency-Key. */
class FakeServer implements Transport {
  donations = new Map<string, { id: string; event: string; body: DonationBody }>(); // by event+client_ref
  donors = new Map<string, { id: string; body: DonorBody }>(); // by idempotency key
  calls: string[] = [];
  /** Per call: 'drop' records then loses the answer; 'down' records nothing and fails; a number answers that status. */
  script: Array<'drop' | 'down' | number> = [];
  refuseUnit = new Set<string>();
  existingNationalIds = new Map<string, string>();
  private n = 0;

  private next(): 'drop' | 'down' | number | undefined {
    return this.script.shift();
  }

  async createDonor(body: DonorBody, key: string): Promise<Reply> {
    this.calls.push(`donor:${key}`);
    const s = this.next();
    if (s === 'down') throw new TypeError('Failed to fetch');
    if (typeof s === 'number') return { status: s, body: { code: s === 401 ? 'unauthorized' : 'internal' } };
    const existing = body.national_id ? this.existingNationalIds.get(body.national_id) : undefined;
    if (existing) return { status: 409, body: { code: 'conflict', existing_id: existing } };
    let d = this.donors.get(key);
    const first = !d;
    if (!d) {
      d = { id: `donor-${++this.n}`, body };
      this.donors.set(key, d);
    }
    if (s === 'drop') throw new TypeError('connection reset');
    return { status: first ? 201 : 201, body: { id: d.id, ...body } };
  }

  async sendBatch(eventId: string, items: Array<DonationBody & { client_ref: string }>): Promise<Reply> {
    this.calls.push(`batch:${eventId}:${items.map((i) => i.client_ref).join(',')}`);
    const s = this.next();
    if (s === 'down') throw new TypeError('Failed to fetch');
    if (typeof s === 'number') return { status: s, body: { code: s === 401 ? 'unauthorized' : 'internal', status: s } };
    const results = items.map(({ client_ref, ...body }) => {
      const key = `${eventId}/${client_ref}`;
      const had = this.donations.get(key);
      if (had) return { client_ref, status: 200, donation: { id: had.id } };
      if (body.unit_code && this.refuseUnit.has(body.unit_code)) {
        return { client_ref, status: 422, error: { code: 'donor_not_eligible', reason: 'interval', next_eligible_on: '2027-01-01' } };
      }
      if (body.donor_id.startsWith('local') || body.donor_id === '') {
        return { client_ref, status: 422, error: { code: 'invalid_request' } };
      }
      const d = { id: `don-${++this.n}`, event: eventId, body };
      this.donations.set(key, d);
      return { client_ref, status: 201, donation: { id: d.id } };
    });
    if (s === 'drop') throw new TypeError('connection reset');
    return { status: 200, body: { results } };
  }
}

let clock = 1_000_000;
const now = () => clock;

function donation(id: string, event: string, opts: Partial<DonationItem> = {}, body: Partial<DonationBody> = {}): (seq: number) => Item[] {
  return (seq) => [
    {
      kind: 'donation',
      id,
      seq,
      owner: ALICE,
      state: 'queued',
      attempts: 0,
      next_at: clock,
      created_at: clock,
      event_id: event,
      drive_id: 'drive-1',
      donor_name: 'Giàng Thị Dung',
      body: { donor_id: 'donor-x', component: 'whole_blood', volume_ml: 350, outcome: 'collected', donated_at: '2026-11-30T02:00:00Z', ...body },
      ...opts,
    },
  ];
}

function donor(id: string, body: Partial<DonorBody> = {}): (seq: number) => Item[] {
  return (seq) => [
    {
      kind: 'donor',
      id,
      seq,
      owner: ALICE,
      state: 'queued',
      attempts: 0,
      next_at: clock,
      created_at: clock,
      body: { full_name: 'Lò Văn Minh', date_of_birth: '1990-05-01', sex: 'male', ...body },
    },
  ];
}

async function byId(id: string): Promise<Item> {
  const i = (await idbQueue.all()).find((x) => x.id === id);
  if (!i) throw new Error(`no item ${id}`);
  return i;
}

beforeEach(() => {
  globalThis.indexedDB = new IDBFactory();
  resetDbHandle();
  clock = 1_000_000;
});

describe('the send queue', () => {
  it('sends in recording order, one batch per event, oldest event first', async () => {
    const server = new FakeServer();
    await idbQueue.add(donation('a1', 'ev-A'));
    await idbQueue.add(donation('b1', 'ev-B'));
    await idbQueue.add(donation('a2', 'ev-A'));
    const r = await new Sender(idbQueue, server, now).flush(ALICE);
    expect(server.calls).toEqual(['batch:ev-A:a1,a2', 'batch:ev-B:b1']);
    expect(r.sent).toBe(3);
    expect((await idbQueue.all()).map((i) => i.state)).toEqual(['sent', 'sent', 'sent']);
  });

  it('keeps the items queued when the network is down and retries after a growing backoff', async () => {
    const server = new FakeServer();
    server.script = ['down', 'down'];
    await idbQueue.add(donation('a1', 'ev-A'));
    const sender = new Sender(idbQueue, server, now);
    let r = await sender.flush(ALICE);
    expect(r.sent).toBe(0);
    let item = await byId('a1');
    expect(item).toMatchObject({ state: 'queued', attempts: 1, next_at: clock + backoff(1) });
    expect(r.nextDue).toBe(clock + 2_000);

    clock += 1_000; // not due yet: nothing is sent
    await sender.flush(ALICE);
    expect(server.calls).toHaveLength(1);

    clock += 1_000;
    r = await sender.flush(ALICE);
    item = await byId('a1');
    expect(item).toMatchObject({ state: 'queued', attempts: 2, next_at: clock + 4_000 });

    clock += 4_000;
    r = await sender.flush(ALICE);
    expect(r.sent).toBe(1);
    expect(await byId('a1')).toMatchObject({ state: 'sent' });
    expect(server.donations.size).toBe(1);
  });

  it('caps the backoff at five minutes', () => {
    expect(backoff(1)).toBe(2_000);
    expect(backoff(3)).toBe(8_000);
    expect(backoff(40)).toBe(300_000);
  });

  it('retries a server error (5xx) and a per-item 503 like a lost connection', async () => {
    const server = new FakeServer();
    server.script = [502];
    await idbQueue.add(donation('a1', 'ev-A'));
    const sender = new Sender(idbQueue, server, now);
    await sender.flush(ALICE);
    expect(await byId('a1')).toMatchObject({ state: 'queued', attempts: 1 });
    clock += backoff(1);
    await sender.flush(ALICE);
    expect(await byId('a1')).toMatchObject({ state: 'sent' });
  });

  it('records a donation re-sent after a dropped answer once', async () => {
    const server = new FakeServer();
    server.script = ['drop'];
    await idbQueue.add(donation('a1', 'ev-A'));
    await idbQueue.add(donation('a2', 'ev-A'));
    const sender = new Sender(idbQueue, server, now);
    await sender.flush(ALICE);
    // The server recorded both, but the device never heard: still queued.
    expect(server.donations.size).toBe(2);
    expect(await byId('a1')).toMatchObject({ state: 'queued', attempts: 1 });
    clock += backoff(1);
    const r = await sender.flush(ALICE);
    expect(r.sent).toBe(2);
    expect(server.calls).toEqual(['batch:ev-A:a1,a2', 'batch:ev-A:a1,a2']);
    expect(server.donations.size).toBe(2);
    const a1 = (await byId('a1')) as DonationItem;
    expect(a1.state).toBe('sent');
    expect(a1.donation?.id).toBe(server.donations.get('ev-A/a1')?.id);
  });

  it('keeps a refused item on the device with its reason, and sends the others', async () => {
    const server = new FakeServer();
    server.refuseUnit.add('BAG-BAD');
    await idbQueue.add(donation('a1', 'ev-A', {}, { unit_code: 'BAG-BAD' }));
    await idbQueue.add(donation('a2', 'ev-A'));
    const sender = new Sender(idbQueue, server, now);
    const r = await sender.flush(ALICE);
    expect(r).toMatchObject({ sent: 1, refused: 1 });
    const a1 = await byId('a1');
    expect(a1.state).toBe('refused');
    expect(a1.error).toMatchObject({ code: 'donor_not_eligible', reason: 'interval' });
    // A refused item is not sent again by itself, and it stays.
    clock += 600_000;
    await sender.flush(ALICE);
    expect(server.calls).toHaveLength(1);
    expect((await byId('a1')).state).toBe('refused');
  });

  it('sends an offline-registered donor before its donations, re-pointed to the server id', async () => {
    const server = new FakeServer();
    await idbQueue.add(donation('a0', 'ev-A', {}, { donor_id: 'donor-known' }));
    await idbQueue.add(donor('local-1'));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    await idbQueue.add(donation('a2', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }, ));
    // Before the donor is sent its donations are not ready.
    const step = nextStep(await idbQueue.all(), ALICE, clock);
    expect(step?.kind).toBe('donor');
    const r = await new Sender(idbQueue, server, now).flush(ALICE);
    expect(server.calls).toEqual(['donor:local-1', 'batch:ev-A:a0,a1,a2']);
    expect(r.sent).toBe(4);
    const d = (await byId('local-1')) as DonorItem;
    expect(d.server_id).toBe('donor-1');
    expect([...server.donations.values()].map((x) => x.body.donor_id)).toEqual(['donor-known', 'donor-1', 'donor-1']);
    expect(((await byId('a1')) as DonationItem).donor_local).toBeUndefined();
  });

  it('registers a donor re-sent after a dropped answer once (the Idempotency-Key is its local id)', async () => {
    const server = new FakeServer();
    server.script = ['drop'];
    await idbQueue.add(donor('local-1'));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    const sender = new Sender(idbQueue, server, now);
    await sender.flush(ALICE);
    expect(server.calls).toEqual(['donor:local-1']);
    clock += backoff(1);
    await sender.flush(ALICE);
    expect(server.calls).toEqual(['donor:local-1', 'donor:local-1', 'batch:ev-A:a1']);
    expect(server.donors.size).toBe(1);
    expect((await byId('a1')).state).toBe('sent');
  });

  it('holds the donations of a donor who already exists until the coordinator confirms, then re-points them', async () => {
    const server = new FakeServer();
    server.existingNationalIds.set('001190000001', 'donor-existing');
    await idbQueue.add(donor('local-1', { national_id: '001190000001' }));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    const sender = new Sender(idbQueue, server, now);
    await sender.flush(ALICE);
    expect(await byId('local-1')).toMatchObject({ state: 'conflict', existing_id: 'donor-existing' });
    expect(await byId('a1')).toMatchObject({ state: 'queued', donor_local: 'local-1' });
    expect(server.calls).toEqual(['donor:local-1']);

    await idbQueue.put(confirmExisting(await idbQueue.all(), 'local-1'));
    await sender.flush(ALICE);
    expect(server.calls).toEqual(['donor:local-1', 'batch:ev-A:a1']);
    expect(server.donations.get('ev-A/a1')?.body.donor_id).toBe('donor-existing');
  });

  it('marks the waiting donations refused when their donor is refused', async () => {
    const server = new FakeServer();
    server.script = [422];
    await idbQueue.add(donor('local-1'));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    await new Sender(idbQueue, server, now).flush(ALICE);
    expect((await byId('local-1')).state).toBe('refused');
    expect(await byId('a1')).toMatchObject({ state: 'refused', error: { code: 'donor_refused' } });
  });

  it('stops at a 401 and keeps everything queued; only the same user sends it later', async () => {
    const server = new FakeServer();
    server.script = [401];
    await idbQueue.add(donation('a1', 'ev-A'));
    await idbQueue.add(donation('b1', 'ev-B'));
    const sender = new Sender(idbQueue, server, now);
    const r = await sender.flush(ALICE);
    expect(r.unauthorized).toBe(true);
    expect(server.calls).toEqual(['batch:ev-A:a1']);
    expect((await idbQueue.all()).map((i) => [i.state, i.attempts])).toEqual([
      ['queued', 0],
      ['queued', 0],
    ]);
    // Another user signs in on the device: Alice's records are not theirs to send.
    const other = await sender.flush(BOB);
    expect(other.sent).toBe(0);
    expect(server.calls).toHaveLength(1);
    // Alice signs in again.
    const again = await sender.flush(ALICE);
    expect(again.sent).toBe(2);
  });

  it('keeps the queue across a reload (a new database connection)', async () => {
    await idbQueue.add(donor('local-1'));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    await idbQueue.add(donation('a2', 'ev-A'));
    (await db()).close();
    resetDbHandle();
    const items = await idbQueue.all();
    expect(items.map((i) => i.id)).toEqual(['local-1', 'a1', 'a2']);
    expect(items.map((i) => i.seq)).toEqual([1, 2, 3]);
  });

  it('runs one flush at a time: a second call joins the first', async () => {
    const server = new FakeServer();
    await idbQueue.add(donation('a1', 'ev-A'));
    const sender = new Sender(idbQueue, server, now);
    await Promise.all([sender.flush(ALICE), sender.flush(ALICE)]);
    expect(server.calls).toEqual(['batch:ev-A:a1']);
  });

  it('discards a donor with the donations that waited for it, and drops old sent records only', async () => {
    await idbQueue.add(donor('local-1'));
    await idbQueue.add(donation('a1', 'ev-A', { donor_local: 'local-1' }, { donor_id: '' }));
    await idbQueue.add(donation('a2', 'ev-A'));
    await idbQueue.add(donation('s1', 'ev-A', { state: 'sent', created_at: clock - KEEP_SENT_MS - 1 }));
    await idbQueue.add(donation('s2', 'ev-A', { state: 'sent' }));
    const items = await idbQueue.all();
    expect(discardIds(items, 'local-1')).toEqual(['local-1', 'a1']);
    expect(expiredSent(items, clock)).toEqual(['s1']);
  });
});
