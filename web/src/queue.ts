// The offline-first send queue. Pure logic: no IndexedDB, no fetch. The storage and the
// transport are injected, so the ordering, retry and re-send rules are unit-tested as they run.

export type Component = 'whole_blood' | 'red_cells' | 'platelets' | 'plasma';

export interface FieldError {
  field: string;
  code: string;
  message?: string;
}

/** An RFC 9457 problem as the API sends it (only `code` is relied upon). */
export interface Problem {
  code: string;
  status?: number;
  title?: string;
  detail?: string;
  errors?: FieldError[];
  reason?: string;
  next_eligible_on?: string | null;
  existing_id?: string;
}

export type State = 'queued' | 'sent' | 'refused' | 'conflict';

interface Base {
  /** For a donation its `client_ref`; for a donor its local id (also its Idempotency-Key). */
  id: string;
  /** Order of recording on this device. */
  seq: number;
  /** The user who recorded it: only that user's session sends it. */
  owner: string;
  state: State;
  attempts: number;
  /** Not sent before this instant (epoch ms): the retry backoff. */
  next_at: number;
  created_at: number;
  error?: Problem;
}

export interface DonorBody {
  full_name: string;
  date_of_birth: string;
  sex: 'male' | 'female';
  national_id?: string;
  phone?: string;
  blood_group?: string;
  weight_kg?: number;
  chapter_id?: string;
}

export interface DonorItem extends Base {
  kind: 'donor';
  body: DonorBody;
  server_id?: string;
  existing_id?: string;
}

export interface DonationBody {
  donor_id: string;
  component: Component;
  volume_ml: number;
  outcome: 'collected' | 'deferred';
  donated_at: string;
  unit_code?: string;
  weight_kg?: number;
  deferral_reason?: string;
  deferred_until?: string;
  permanent?: boolean;
}

export interface DonationItem extends Base {
  kind: 'donation';
  event_id: string;
  drive_id: string;
  donor_name: string;
  /** Set while the donor is a queued offline registration (its local id); then `body.donor_id` waits. */
  donor_local?: string;
  body: DonationBody;
  donation?: { id: string; unit_code?: string | null };
}

export type Item = DonorItem | DonationItem;

export interface Reply {
  status: number;
  body: unknown;
}

/** The HTTP side. A rejected promise means no answer came (network down, connection dropped). */
export interface Transport {
  createDonor(body: DonorBody, idempotencyKey: string): Promise<Reply>;
  sendBatch(eventId: string, items: Array<DonationBody & { client_ref: string }>): Promise<Reply>;
}

export interface QueueStore {
  all(): Promise<Item[]>;
  put(items: Item[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

export const MAX_BATCH = 100;
const BASE_DELAY_MS = 2_000;
const MAX_DELAY_MS = 5 * 60_000;

/** Delay before the next try after `attempts` failed ones: 2 s doubling, at most 5 min. */
export function backoff(attempts: number): number {
  return Math.min(BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1), MAX_DELAY_MS);
}

export type Step =
  | { kind: 'donor'; item: DonorItem }
  | { kind: 'batch'; eventId: string; items: DonationItem[] };

const bySeq = (a: Item, b: Item) => a.seq - b.seq;

/**
 * What to send next for `owner` at `now`: a queued offline donor first (their donations wait
 * for the server id), else the oldest due donation's event with its due donations in order.
 */
export function nextStep(items: Item[], owner: string, now: number): Step | null {
  const mine = items.filter((i) => i.owner === owner && i.state === 'queued').sort(bySeq);
  const donor = mine.find((i): i is DonorItem => i.kind === 'donor' && i.next_at <= now);
  if (donor) return { kind: 'donor', item: donor };
  const ready = mine.filter(
    (i): i is DonationItem => i.kind === 'donation' && !i.donor_local && i.next_at <= now,
  );
  const first = ready[0];
  if (!first) return null;
  const batch = ready.filter((i) => i.event_id === first.event_id).slice(0, MAX_BATCH);
  return { kind: 'batch', eventId: first.event_id, items: batch };
}

/** When the next queued item of `owner` becomes due (for a timer), or null when none waits. */
export function nextDue(items: Item[], owner: string): number | null {
  let due: number | null = null;
  for (const i of items) {
    if (i.owner !== owner || i.state !== 'queued') continue;
    if (i.kind === 'donation' && i.donor_local) continue;
    due = due === null ? i.next_at : Math.min(due, i.next_at);
  }
  return due;
}

function isProblem(x: unknown): x is Problem {
  return typeof x === 'object' && x !== null && typeof (x as Problem).code === 'string';
}

function problemOf(reply: Reply): Problem {
  return isProblem(reply.body) ? reply.body : { code: `http_${reply.status}`, status: reply.status };
}

/** A status worth trying again later: the server or the path to it was not able to judge. */
function transient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

function retry<T extends Item>(item: T, now: number): T {
  const attempts = item.attempts + 1;
  return { ...item, attempts, next_at: now + backoff(attempts) };
}

export interface Outcome {
  updates: Item[];
  /** 401: the token is no longer good; stop until the same user signs in again. */
  unauthorized?: boolean;
}

/** Re-points the donations waiting for offline donor `localId` to `serverId`. */
export function repoint(items: Item[], localId: string, serverId: string): DonationItem[] {
  return items
    .filter((i): i is DonationItem => i.kind === 'donation' && i.donor_local === localId)
    .map((i) => {
      const { donor_local: _dropped, ...rest } = i;
      return { ...rest, body: { ...i.body, donor_id: serverId } };
    });
}

export function applyDonorReply(items: Item[], donor: DonorItem, reply: Reply | null, now: number): Outcome {
  if (reply === null || transient(reply.status)) return { updates: [retry(donor, now)] };
  if (reply.status === 401) return { updates: [], unauthorized: true };
  const body = reply.body as { id?: unknown } | null;
  if ((reply.status === 200 || reply.status === 201) && body && typeof body.id === 'string') {
    const sent: DonorItem = { ...donor, state: 'sent', server_id: body.id, attempts: donor.attempts + 1 };
    delete sent.error;
    return { updates: [sent, ...repoint(items, donor.id, body.id)] };
  }
  const problem = problemOf(reply);
  if (reply.status === 409 && typeof problem.existing_id === 'string') {
    return {
      updates: [{ ...donor, state: 'conflict', existing_id: problem.existing_id, error: problem, attempts: donor.attempts + 1 }],
    };
  }
  // Refused: the donor stays for review, and so do the donations that needed it.
  const refusedDonations = items
    .filter((i): i is DonationItem => i.kind === 'donation' && i.donor_local === donor.id && i.state === 'queued')
    .map((i): DonationItem => ({ ...i, state: 'refused', error: { code: 'donor_refused' } }));
  return {
    updates: [{ ...donor, state: 'refused', error: problem, attempts: donor.attempts + 1 }, ...refusedDonations],
  };
}

interface BatchResult {
  client_ref: string;
  status: number;
  donation?: { id: string; unit_code?: string | null };
  error?: Problem;
}

export function applyBatchReply(sent: DonationItem[], reply: Reply | null, now: number): Outcome {
  if (reply === null || transient(reply.status) || reply.status === 413) {
    return { updates: sent.map((i) => retry(i, now)) };
  }
  if (reply.status === 401) return { updates: [], unauthorized: true };
  const results = (reply.body as { results?: BatchResult[] } | null)?.results;
  if (reply.status !== 200 || !Array.isArray(results)) {
    // The whole request was refused (event out of scope, gone, malformed): each item keeps the reason.
    const problem = problemOf(reply);
    return { updates: sent.map((i) => ({ ...i, state: 'refused', error: problem, attempts: i.attempts + 1 })) };
  }
  const byRef = new Map(results.map((r) => [r.client_ref, r]));
  const updates: DonationItem[] = [];
  let unauthorized = false;
  for (const item of sent) {
    const r = byRef.get(item.id);
    if (!r || transient(r.status)) {
      updates.push(retry(item, now));
    } else if (r.status === 401) {
      unauthorized = true;
    } else if (r.status === 200 || r.status === 201) {
      const done: DonationItem = { ...item, state: 'sent', attempts: item.attempts + 1 };
      if (r.donation) done.donation = r.donation;
      delete done.error;
      updates.push(done);
    } else {
      updates.push({
        ...item,
        state: 'refused',
        attempts: item.attempts + 1,
        error: r.error ?? { code: `http_${r.status}`, status: r.status },
      });
    }
  }
  return unauthorized ? { updates, unauthorized } : { updates };
}

/** A conflict (409 `existing_id`) confirmed by the coordinator: the donor is the existing one. */
export function confirmExisting(items: Item[], donorId: string): Item[] {
  const donor = items.find((i): i is DonorItem => i.kind === 'donor' && i.id === donorId);
  if (!donor || donor.state !== 'conflict' || !donor.existing_id) return [];
  const matched: DonorItem = { ...donor, state: 'sent', server_id: donor.existing_id };
  delete matched.error;
  return [matched, ...repoint(items, donor.id, donor.existing_id)];
}

/** The ids to forget when `id` is discarded: a donor takes its waiting donations with it. */
export function discardIds(items: Item[], id: string): string[] {
  const ids = [id];
  for (const i of items) {
    if (i.kind === 'donation' && i.donor_local === id && i.state !== 'sent') ids.push(i.id);
  }
  return ids;
}

/** Sent records older than this are dropped from the device (they are on the server). */
export const KEEP_SENT_MS = 36 * 3600_000;

export function expiredSent(items: Item[], now: number): string[] {
  return items.filter((i) => i.state === 'sent' && now - i.created_at > KEEP_SENT_MS).map((i) => i.id);
}

export interface FlushResult {
  sent: number;
  refused: number;
  unauthorized: boolean;
  /** When a queued item is next due, or null. */
  nextDue: number | null;
}

/**
 * Sends what is due, step by step, until nothing is due, a 401 stops it, or a step made no
 * progress (network down). One flush at a time: a second call while one runs waits for it.
 */
export class Sender {
  private running: Promise<FlushResult> | null = null;

  constructor(
    private readonly store: QueueStore,
    private readonly transport: Transport,
    private readonly clock: () => number = Date.now,
  ) {}

  flush(owner: string): Promise<FlushResult> {
    if (!this.running) {
      this.running = this.run(owner).finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async run(owner: string): Promise<FlushResult> {
    const result: FlushResult = { sent: 0, refused: 0, unauthorized: false, nextDue: null };
    // Each step either finishes items or pushes their next_at past now, so this ends.
    for (let guard = 0; guard < 10_000; guard++) {
      const items = await this.store.all();
      const now = this.clock();
      const step = nextStep(items, owner, now);
      if (!step) break;
      let outcome: Outcome;
      if (step.kind === 'donor') {
        let reply: Reply | null = null;
        try {
          reply = await this.transport.createDonor(step.item.body, step.item.id);
        } catch {
          reply = null;
        }
        outcome = applyDonorReply(items, step.item, reply, this.clock());
      } else {
        let reply: Reply | null = null;
        try {
          reply = await this.transport.sendBatch(
            step.eventId,
            step.items.map((i) => ({ client_ref: i.id, ...i.body })),
          );
        } catch {
          reply = null;
        }
        outcome = applyBatchReply(step.items, reply, this.clock());
      }
      if (outcome.updates.length) await this.store.put(outcome.updates);
      for (const u of outcome.updates) {
        if (u.state === 'sent') result.sent++;
        if (u.state === 'refused') result.refused++;
      }
      if (outcome.unauthorized) {
        result.unauthorized = true;
        break;
      }
      // A step with no answer: the network is down; try again at the next due time.
      if (outcome.updates.every((u) => u.state === 'queued')) break;
    }
    result.nextDue = nextDue(await this.store.all(), owner);
    return result;
  }
}
