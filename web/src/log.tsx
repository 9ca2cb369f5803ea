import { signal } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, get, NetworkError, online } from './api';
import { cacheGet, cachePut } from './db';
import { DonorArea } from './donor';
import { problemText } from './errors';
import { fmtNumber, fmtTime, t, today } from './i18n';
import { QueueView } from './queueview';
import { sentTick } from './sync';
import { BLOOD_GROUPS, listOf } from './util';

export interface Drive {
  id: string;
  name: string;
  chapter_id: string;
  starts_on: string;
  ends_on: string;
  target_units: number | null;
}

export interface DriveEvent {
  id: string;
  drive_id: string;
  site: string;
  held_on: string;
}

interface Tally {
  units: number;
  deferrals: number;
  target_units: number | null;
  by_blood_group: Record<string, number>;
}

function remembered(key: string): string {
  try {
    return localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

function remember(key: string, v: string): void {
  try {
    localStorage.setItem(key, v);
  } catch {
    // Private mode: the choice is not kept.
  }
}

export const drives = signal<Drive[]>([]);
export const driveId = signal(remembered('hienmau.drive'));
export const events = signal<DriveEvent[]>([]);
export const eventId = signal(remembered('hienmau.event'));
const fromCache = signal(false);

export const currentDrive = () => drives.value.find((d) => d.id === driveId.value);
export const currentEvent = () => events.value.find((e) => e.id === eventId.value);

/** Online: from the server, kept on the device; offline or failing: what the device kept. */
async function fetchOrCache<T>(key: string, load: () => Promise<T>): Promise<T | undefined> {
  try {
    const v = await load();
    await cachePut(key, v);
    fromCache.value = false;
    return v;
  } catch (e) {
    if (!(e instanceof NetworkError)) throw e;
    fromCache.value = true;
    return (await cacheGet<T>(key))?.value;
  }
}

async function loadDrives(): Promise<void> {
  const day = today();
  const list = await fetchOrCache(`drives:${day}`, async () =>
    listOf<Drive>(await get('/drives', { year: day.slice(0, 4), limit: 500 })).filter(
      (d) => d.starts_on <= day && day <= d.ends_on,
    ),
  );
  drives.value = list ?? [];
  if (!drives.value.some((d) => d.id === driveId.value)) {
    driveId.value = drives.value.length === 1 ? (drives.value[0]?.id ?? '') : '';
  }
}

async function loadEvents(id: string): Promise<void> {
  if (!id) {
    events.value = [];
    return;
  }
  const day = today();
  const list = await fetchOrCache(`events:${id}:${day}`, async () =>
    listOf<DriveEvent>(await get(`/drives/${id}/events`, { limit: 500 })).filter((e) => e.held_on === day),
  );
  events.value = list ?? [];
  if (!events.value.some((e) => e.id === eventId.value)) {
    eventId.value = events.value.length === 1 ? (events.value[0]?.id ?? '') : '';
  }
}

function EventPicker() {
  const [site, setSite] = useState('');
  const [msg, setMsg] = useState('');
  // Loaded again when the connection returns: what the device kept may be out of date.
  useEffect(() => {
    void loadDrives().catch(() => undefined);
  }, [online.value]);
  useEffect(() => {
    remember('hienmau.drive', driveId.value);
    void loadEvents(driveId.value).catch(() => undefined);
  }, [driveId.value, online.value]);
  useEffect(() => remember('hienmau.event', eventId.value), [eventId.value]);

  async function create(e: Event) {
    e.preventDefault();
    setMsg('');
    try {
      const ev = await api<DriveEvent>('POST', `/drives/${driveId.value}/events`, { body: { site: site.trim(), held_on: today() } });
      events.value = [...events.value, ev];
      eventId.value = ev.id;
      await cachePut(`events:${driveId.value}:${today()}`, events.value);
      setMsg(t('event.created'));
    } catch (err) {
      setMsg(err instanceof ApiError ? problemText(err.problem) : t('error.network'));
    }
  }

  return (
    <section class="card" aria-labelledby="pick-h">
      <h2 id="pick-h">{t('event.label')}</h2>
      {fromCache.value ? <p class="muted">{t('event.cached')}</p> : null}
      <label>
        {t('drive.label')}
        <select data-testid="drive-select" value={driveId.value} onChange={(e) => (driveId.value = e.currentTarget.value)}>
          <option value="">{t('drive.choose')}</option>
          {drives.value.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
            </option>
          ))}
        </select>
      </label>
      {drives.value.length === 0 ? <p class="muted">{t('drive.none')}</p> : null}
      {driveId.value ? (
        <label>
          {t('event.label')}
          <select data-testid="event-select" value={eventId.value} onChange={(e) => (eventId.value = e.currentTarget.value)}>
            <option value="">{t('event.choose')}</option>
            {events.value.map((e) => (
              <option key={e.id} value={e.id}>
                {e.site}
              </option>
            ))}
          </select>
        </label>
      ) : null}
      {driveId.value && events.value.length === 0 ? (
        <form class="row" onSubmit={create}>
          <p class="muted full">{t('event.none')}</p>
          <label class="grow">
            {t('event.site')}
            <input data-testid="event-site" required value={site} onInput={(e) => setSite(e.currentTarget.value)} />
          </label>
          <button type="submit" data-testid="event-create" disabled={!online.value || !site.trim()}>
            {t('event.create')}
          </button>
        </form>
      ) : null}
      <p role="status" class="muted">
        {msg}
      </p>
    </section>
  );
}

function TallyView() {
  const [tally, setTally] = useState<{ v: Tally; at: number; stale: boolean } | null>(null);
  const id = driveId.value;
  useEffect(() => {
    if (!id) {
      setTally(null);
      return;
    }
    let live = true;
    const load = async () => {
      try {
        const v = await get<Tally>(`/drives/${id}/tally`);
        await cachePut(`tally:${id}`, v);
        if (live) setTally({ v, at: Date.now(), stale: false });
      } catch {
        const c = await cacheGet<Tally>(`tally:${id}`);
        if (live && c) setTally({ v: c.value, at: c.at, stale: true });
      }
    };
    void load();
    const timer = setInterval(() => online.value && void load(), 30_000);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [id, sentTick.value, online.value]);
  if (!id || !tally) return null;
  const v = tally.v;
  const target = v.target_units ?? currentDrive()?.target_units ?? null;
  return (
    <section class="card" data-testid="tally" aria-labelledby="tally-h">
      <h2 id="tally-h">{t('tally.title')}</h2>
      <dl class="figures">
        <div>
          <dt>{t('tally.units')}</dt>
          <dd data-testid="tally-units">{fmtNumber(v.units)}</dd>
        </div>
        <div>
          <dt>{t('tally.target')}</dt>
          <dd data-testid="tally-target">{target === null ? t('tally.no_target') : fmtNumber(target)}</dd>
        </div>
        <div>
          <dt>{t('tally.deferrals')}</dt>
          <dd data-testid="tally-deferrals">{fmtNumber(v.deferrals)}</dd>
        </div>
      </dl>
      {target ? (
        <progress max={target} value={Math.min(v.units, target)} aria-label={t('tally.progress')}>
          {v.units}/{target}
        </progress>
      ) : null}
      <table class="groups">
        <caption>{t('tally.by_group')}</caption>
        <tbody>
          <tr>
            {BLOOD_GROUPS.map((g) => (
              <th scope="col" key={g}>
                {g}
              </th>
            ))}
          </tr>
          <tr>
            {BLOOD_GROUPS.map((g) => (
              <td key={g} data-testid={`tally-group-${g}`}>
                {fmtNumber(v.by_blood_group?.[g] ?? 0)}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      {tally.stale ? <p class="muted">{t('tally.stale', { time: fmtTime(tally.at) })}</p> : null}
    </section>
  );
}

export function LogScreen() {
  return (
    <main id="main" class="log">
      <h1>{t('log.title')}</h1>
      <div class="cols">
        <div>
          <EventPicker />
          <DonorArea />
        </div>
        <div>
          <QueueView />
          <TallyView />
        </div>
      </div>
    </main>
  );
}
