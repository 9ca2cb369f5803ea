import { signal } from '@preact/signals';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, NetworkError, online, raw } from './api';
import { allDonors, cacheGet, cachePut, getDonor, putDonor, type BriefDonor, type CachedDonor, type Eligibility, type PastDonation } from './db';
import { problemText, reasonText } from './errors';
import { addDays, fmtDate, fmtTime, has, lang, t, today } from './i18n';
import { currentDrive, eventId, driveId } from './log';
import type { Component, DonationBody, DonationItem, DonorBody, DonorItem, Problem } from './queue';
import { user } from './state';
import { enqueue, queueItems, settled } from './sync';
import { BLOOD_GROUPS, COMPONENTS, fold, isExactNumber, listOf, presetVolume, uuid } from './util';

export const selected = signal<CachedDonor | null>(null);
const status = signal('');

async function remember(d: BriefDonor): Promise<CachedDonor> {
  const old = await getDonor(d.id);
  const c: CachedDonor = { ...old, id: d.id, donor: d, seen_at: Date.now() };
  await putDonor(c);
  return c;
}

function briefOf(d: BriefDonor): BriefDonor {
  return {
    id: d.id,
    full_name: d.full_name,
    date_of_birth: d.date_of_birth,
    sex: d.sex,
    blood_group: d.blood_group,
    commune: d.commune ?? null,
  };
}

async function searchOffline(q: string): Promise<BriefDonor[]> {
  const words = fold(q).split(' ').filter(Boolean);
  return (await allDonors())
    .filter((c) => words.every((w) => fold(c.donor.full_name).includes(w)))
    .sort((a, b) => b.seen_at - a.seen_at)
    .slice(0, 20)
    .map((c) => c.donor);
}

function DonorSearch({ onNew }: { onNew: () => void }) {
  const [q, setQ] = useState('');
  const [results, setResults] = useState<BriefDonor[] | null>(null);
  const [offline, setOffline] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const query = q.trim();
    if (query.length < 2) {
      setResults(null);
      return;
    }
    let live = true;
    const timer = setTimeout(async () => {
      setBusy(true);
      let found: BriefDonor[];
      let cached = false;
      try {
        if (!online.value) throw new NetworkError('offline');
        // A CCCD or a phone is an exact look-up, which the server answers only in the full
        // view (audited and counted: it tells who holds the number). Names go through the
        // brief view, which is neither. Only the brief fields are kept on the device.
        const exact = isExactNumber(query);
        found = listOf<BriefDonor>(
          await get('/donors', exact ? { q: query, limit: 20 } : { q: query, view: 'brief', limit: 20 }),
        ).map(briefOf);
        void Promise.all(found.map(remember));
      } catch {
        found = await searchOffline(query);
        cached = true;
      }
      if (live) {
        setResults(found);
        setOffline(cached);
        setBusy(false);
      }
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q]);

  async function pick(d: BriefDonor) {
    selected.value = await remember(d);
    setQ('');
    setResults(null);
  }

  return (
    <section class="card" aria-labelledby="search-h">
      <h2 id="search-h" class="sr-only">
        {t('donor.search')}
      </h2>
      <label>
        {t('donor.search')}
        <input
          id="donor-search"
          data-testid="donor-search"
          type="search"
          autocomplete="off"
          value={q}
          aria-describedby="search-hint"
          onInput={(e) => setQ(e.currentTarget.value)}
        />
      </label>
      <p id="search-hint" class="muted" aria-live="polite">
        {busy ? t('donor.searching') : offline && results ? t('donor.offline_results') : t('donor.search_hint')}
      </p>
      {results ? (
        results.length ? (
          <ul class="results">
            {results.map((d) => (
              <li key={d.id}>
                <button type="button" data-testid="donor-result" class="result" onClick={() => void pick(d)}>
                  <strong>{d.full_name}</strong>
                  <span>
                    {t('donor.born', { date: fmtDate(d.date_of_birth) })}
                    {d.blood_group ? ` · ${d.blood_group}` : ''}
                    {d.commune ? ` · ${d.commune}` : ''}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ) : (
          <p>{t('donor.no_results')}</p>
        )
      ) : null}
      <button type="button" data-testid="donor-new" onClick={onNew}>
        {t('donor.new')}
      </button>
    </section>
  );
}

function DonorForm({ onDone }: { onDone: () => void }) {
  const [f, setF] = useState({ full_name: '', dob: '', sex: 'female', national_id: '', phone: '', blood_group: '', weight: '' });
  const [error, setError] = useState('');
  const [dup, setDup] = useState<{ existing: string; body: DonorBody } | null>(null);
  const set = (k: keyof typeof f) => (e: { currentTarget: { value: string } }) => setF({ ...f, [k]: e.currentTarget.value });

  async function useDonor(d: BriefDonor, local: boolean) {
    const c: CachedDonor = { id: d.id, donor: d, seen_at: Date.now() };
    if (local) c.local = true;
    await putDonor(c);
    selected.value = c;
    onDone();
  }

  async function submit(e: Event) {
    e.preventDefault();
    setError('');
    const me = user.value;
    if (!me) return;
    const body: DonorBody = { full_name: f.full_name.trim(), date_of_birth: f.dob, sex: f.sex as 'male' | 'female' };
    if (f.national_id.trim()) body.national_id = f.national_id.trim();
    if (f.phone.trim()) body.phone = f.phone.trim();
    if (f.blood_group) body.blood_group = f.blood_group;
    if (f.weight) body.weight_kg = Number(f.weight);
    const chapter = currentDrive()?.chapter_id ?? me.chapter_id;
    if (chapter) body.chapter_id = chapter;
    const localId = uuid();
    const brief = (id: string): BriefDonor => ({
      id,
      full_name: body.full_name,
      date_of_birth: body.date_of_birth,
      sex: body.sex,
      blood_group: body.blood_group ?? null,
    });
    if (online.value) {
      try {
        const r = await raw('POST', '/donors', { body, headers: { 'Idempotency-Key': localId } });
        const out = r.body as (BriefDonor & Problem) | null;
        if ((r.status === 201 || r.status === 200) && out?.id) return void (await useDonor({ ...brief(out.id), ...out }, false));
        if (r.status === 409 && out?.existing_id) return setDup({ existing: out.existing_id, body });
        if (r.status !== 401 && r.status < 500) return setError(problemText(out ?? { code: `http_${r.status}` }));
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
      }
    }
    // Offline (or the server could not answer): queued, and usable at once.
    const now = Date.now();
    await enqueue((seq) => [
      { kind: 'donor', id: localId, seq, owner: me.id, state: 'queued', attempts: 0, next_at: now, created_at: now, body } satisfies DonorItem,
    ]);
    status.value = t('donor.queued');
    await useDonor(brief(localId), true);
  }

  return (
    <form class="card stack" data-testid="donor-form" onSubmit={submit} aria-labelledby="form-h">
      <h2 id="form-h">{t('donor.form_title')}</h2>
      <label>
        {t('donor.full_name')}
        <input data-testid="donor-full-name" required maxLength={200} value={f.full_name} onInput={set('full_name')} />
      </label>
      <div class="row">
        <label class="grow">
          {t('donor.dob')}
          <input data-testid="donor-dob" type="date" required max={today()} value={f.dob} onInput={set('dob')} />
        </label>
        <label class="grow">
          {t('donor.sex')}
          <select data-testid="donor-sex" value={f.sex} onChange={set('sex')}>
            <option value="female">{t('donor.sex.female')}</option>
            <option value="male">{t('donor.sex.male')}</option>
          </select>
        </label>
      </div>
      <label>
        {t('donor.national_id')}
        <input data-testid="donor-national-id" inputMode="numeric" pattern="[0-9]{12}" title={t('donor.national_id')} value={f.national_id} onInput={set('national_id')} />
      </label>
      <label>
        {t('donor.phone')}
        <input data-testid="donor-phone" type="tel" value={f.phone} onInput={set('phone')} />
      </label>
      <div class="row">
        <label class="grow">
          {t('donor.blood_group')}
          <select data-testid="donor-blood-group" value={f.blood_group} onChange={set('blood_group')}>
            <option value="">{t('donor.blood_group.unknown')}</option>
            {BLOOD_GROUPS.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <label class="grow">
          {t('donor.weight')}
          <input data-testid="donor-weight" type="number" inputMode="decimal" min="1" max="299" step="0.1" value={f.weight} onInput={set('weight')} />
        </label>
      </div>
      <p role="alert" class="error">
        {error}
      </p>
      {dup ? (
        <div data-testid="donor-duplicate" role="alert" class="notice">
          <p>{t('donor.duplicate')}</p>
          <button
            type="button"
            data-testid="donor-duplicate-confirm"
            onClick={() =>
              void useDonor(
                { id: dup.existing, full_name: dup.body.full_name, date_of_birth: dup.body.date_of_birth, sex: dup.body.sex, blood_group: dup.body.blood_group ?? null },
                false,
              )
            }
          >
            {t('donor.duplicate_confirm')}
          </button>
        </div>
      ) : null}
      <div class="row">
        <button type="submit" class="primary" data-testid="donor-form-submit">
          {t('donor.submit')}
        </button>
        <button type="button" onClick={onDone}>
          {t('donor.cancel')}
        </button>
      </div>
    </form>
  );
}

type Elig = { state: 'loading' } | { state: 'unknown' } | { state: 'known'; result: Eligibility; stale: boolean; at: number };

interface Reason {
  code: string;
  label_vi: string;
  label_en: string;
  min_days: number | null;
}

const reasons = signal<Reason[]>([]);

async function loadReasons(): Promise<void> {
  try {
    const list = listOf<Reason>(await get('/deferral-reasons'));
    await cachePut('deferral-reasons', list);
    reasons.value = list;
  } catch {
    reasons.value = (await cacheGet<Reason[]>('deferral-reasons'))?.value ?? [];
  }
}

/** The server id of a donor, or the local id its queued registration still waits under. */
function donorRef(d: CachedDonor): { donor_id: string; donor_local?: string } {
  if (!d.local) return { donor_id: d.id };
  const item = queueItems.value.find((i): i is DonorItem => i.kind === 'donor' && i.id === d.id);
  if (item?.server_id) return { donor_id: item.server_id };
  return { donor_id: '', donor_local: d.id };
}

function Scanner({ onCode }: { onCode: (code: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [on, setOn] = useState(false);
  const [err, setErr] = useState('');
  useEffect(() => {
    if (!on) return;
    let stream: MediaStream | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
        const v = video.current;
        if (!v) return;
        v.srcObject = stream;
        await v.play();
        const Detector = (window as unknown as { BarcodeDetector: new () => { detect(s: HTMLVideoElement): Promise<Array<{ rawValue: string }>> } })
          .BarcodeDetector;
        const detector = new Detector();
        timer = setInterval(async () => {
          const found = await detector.detect(v).catch(() => []);
          const code = found[0]?.rawValue;
          if (code) {
            onCode(code);
            setOn(false);
          }
        }, 300);
      } catch {
        setErr(t('record.scan_failed'));
        setOn(false);
      }
    })();
    return () => {
      clearInterval(timer);
      stream?.getTracks().forEach((tr) => tr.stop());
    };
  }, [on]);
  return (
    <>
      <button type="button" data-testid="scan" onClick={() => setOn(!on)} aria-pressed={on}>
        {on ? t('record.scan_stop') : t('record.scan')}
      </button>
      {on ? <video ref={video} class="scan" muted playsInline aria-label={t('record.scan')} /> : null}
      {err ? <span role="alert" class="error">{err}</span> : null}
    </>
  );
}

function DonorPanel({ d }: { d: CachedDonor }) {
  const [component, setComponent] = useState<Component>('whole_blood');
  const [weight, setWeight] = useState('');
  const [elig, setElig] = useState<Elig>({ state: d.local ? 'unknown' : 'loading' });
  const [history, setHistory] = useState<{ items: PastDonation[]; stale: boolean } | null>(null);
  const [volume, setVolume] = useState(presetVolume('whole_blood', null));
  const [unit, setUnit] = useState('');
  const [deferring, setDeferring] = useState(false);
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const [permanent, setPermanent] = useState(false);
  const [msg, setMsg] = useState('');
  const hasDetector = typeof window !== 'undefined' && 'BarcodeDetector' in window;

  const weightInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    void loadReasons();
    // The weight measured at screening is the next thing to enter.
    weightInput.current?.focus();
  }, []);

  // Eligibility for this component and weight: asked again when either changes.
  useEffect(() => {
    if (d.local) {
      setElig({ state: 'unknown' });
      return;
    }
    let live = true;
    const timer = setTimeout(async () => {
      const w = Number(weight);
      try {
        if (!online.value) throw new NetworkError('offline');
        const result = await get<Eligibility>(`/donors/${d.id}/eligibility`, {
          component,
          on: today(),
          weight_kg: weight && w > 0 ? w : undefined,
        });
        const cached = (await getDonor(d.id)) ?? d;
        await putDonor({ ...cached, eligibility: { component, result, at: Date.now() } });
        if (live) setElig({ state: 'known', result, stale: false, at: Date.now() });
      } catch (e) {
        const c = (await getDonor(d.id))?.eligibility;
        if (!live) return;
        if (e instanceof ApiError) setMsg(problemText(e.problem));
        setElig(c ? { state: 'known', result: c.result, stale: true, at: c.at } : { state: 'unknown' });
      }
    }, weight ? 400 : 0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [d.id, component, weight]);

  useEffect(() => {
    if (d.local) return;
    let live = true;
    (async () => {
      try {
        if (!online.value) throw new NetworkError('offline');
        const items = listOf<PastDonation>(await get(`/donors/${d.id}/donations`, { limit: 5 }));
        const cached = (await getDonor(d.id)) ?? d;
        await putDonor({ ...cached, donations: { items, at: Date.now() } });
        if (live) setHistory({ items, stale: false });
      } catch {
        const c = (await getDonor(d.id))?.donations;
        if (live) setHistory(c ? { items: c.items, stale: true } : null);
      }
    })();
    return () => {
      live = false;
    };
  }, [d.id]);

  const max = elig.state === 'known' ? elig.result.max_volume_ml : null;
  useEffect(() => setVolume(presetVolume(component, max)), [component, max]);

  useEffect(() => {
    const r = reasons.value.find((x) => x.code === reason);
    setPermanent(!!r && r.min_days === null);
    setUntil(r && r.min_days !== null ? addDays(today(), Math.max(1, r.min_days)) : '');
  }, [reason]);

  async function record(outcome: 'collected' | 'deferred') {
    const me = user.value;
    const ev = eventId.value;
    if (!me || !ev) return setMsg(t('record.need_event'));
    const ref = donorRef(d);
    const body: DonationBody = { donor_id: ref.donor_id, component, volume_ml: 0, outcome, donated_at: new Date().toISOString() };
    const w = Number(weight);
    if (weight && w > 0) body.weight_kg = w;
    if (outcome === 'collected') {
      if (!(volume > 0)) return setMsg(t('record.need_volume'));
      body.volume_ml = volume;
      if (unit.trim()) body.unit_code = unit.trim();
    } else {
      body.deferral_reason = reason;
      if (permanent) body.permanent = true;
      else if (until) body.deferred_until = until;
    }
    const now = Date.now();
    const item: DonationItem = {
      kind: 'donation',
      id: uuid(),
      seq: 0,
      owner: me.id,
      state: 'queued',
      attempts: 0,
      next_at: now,
      created_at: now,
      event_id: ev,
      drive_id: driveId.value,
      donor_name: d.donor.full_name,
      body,
    };
    if (ref.donor_local) item.donor_local = ref.donor_local;
    await enqueue((seq) => [{ ...item, seq }]);
    status.value = t('record.saved');
    selected.value = null;
    document.getElementById('donor-search')?.focus();
  }

  const r = elig.state === 'known' ? elig.result : null;
  return (
    <section class="card" data-testid="donor-panel" aria-labelledby="donor-h">
      <h2 id="donor-h">
        {d.donor.full_name} {d.local ? <span class="pill off">{t('donor.local')}</span> : null}
      </h2>
      <p class="muted">
        {t('donor.born', { date: fmtDate(d.donor.date_of_birth) })}
        {d.donor.blood_group ? ` · ${d.donor.blood_group}` : ''}
      </p>
      <div
        data-testid="eligibility"
        data-eligible={r ? String(r.eligible) : 'unknown'}
        class={r ? (r.eligible ? 'elig ok' : 'elig no') : 'elig'}
        aria-live="polite"
      >
        {elig.state === 'loading' ? t('elig.loading') : null}
        {elig.state === 'unknown' ? t('elig.unknown') : null}
        {r ? (
          <>
            <strong>{r.eligible ? t('elig.yes') : t('elig.no')}</strong>
            {!r.eligible ? (
              <>
                {' '}
                <span data-testid="eligibility-reason">{reasonText(r.reason)}</span>{' '}
                {r.next_eligible_on ? (
                  <>
                    {t('elig.next')}{' '}
                    <time data-testid="eligibility-next" dateTime={r.next_eligible_on}>
                      {fmtDate(r.next_eligible_on)}
                    </time>
                  </>
                ) : r.reason === 'permanently_deferred' ? (
                  t('elig.never')
                ) : null}
              </>
            ) : r.max_volume_ml ? (
              <> {t('elig.max_volume', { ml: r.max_volume_ml })}</>
            ) : null}
          </>
        ) : null}
        {elig.state === 'known' && elig.stale ? (
          <p data-testid="eligibility-stale" class="muted">
            {t('elig.stale', { time: fmtTime(elig.at) })}
          </p>
        ) : null}
      </div>
      <h3>{t('history.title')}</h3>
      <ul data-testid="last-donations" class="history">
        {history && history.items.length === 0 ? <li>{t('history.none')}</li> : null}
        {history?.items.map((h) => (
          <li key={h.id}>
            {fmtDate(h.donated_at.slice(0, 10))} —{' '}
            {h.outcome === 'deferred'
              ? t('history.deferred')
              : t('history.collected', { component: has(`component.${h.component}`) ? t(`component.${h.component}` as 'component.plasma') : h.component, ml: h.volume_ml })}
          </li>
        ))}
        {history?.stale ? <li class="muted">{t('history.stale')}</li> : null}
      </ul>
      <form
        class="stack"
        aria-label={t('record.title')}
        onSubmit={(e) => {
          e.preventDefault();
          void record('collected');
        }}
      >
        <div class="row">
          <label class="grow">
            {t('record.weight')}
            <input ref={weightInput} data-testid="weight" type="number" inputMode="decimal" min="1" max="299" step="0.1" value={weight} onInput={(e) => setWeight(e.currentTarget.value)} />
          </label>
          <label class="grow">
            {t('record.component')}
            <select data-testid="component" value={component} onChange={(e) => setComponent(e.currentTarget.value as Component)}>
              {COMPONENTS.map((c) => (
                <option key={c} value={c}>
                  {t(`component.${c}`)}
                </option>
              ))}
            </select>
          </label>
          <label class="grow">
            {t('record.volume')}
            <input data-testid="volume" type="number" inputMode="numeric" min="1" max="2000" step="1" value={volume} onInput={(e) => setVolume(Number(e.currentTarget.value))} />
          </label>
        </div>
        <div class="row">
          <label class="grow">
            {t('record.unit_code')}
            <input data-testid="unit-code" autocomplete="off" value={unit} onInput={(e) => setUnit(e.currentTarget.value)} />
          </label>
          {hasDetector ? <Scanner onCode={setUnit} /> : null}
        </div>
        <div class="row">
          <button type="submit" class="primary" data-testid="record-collected">
            {t('record.collected')}
          </button>
          <button type="button" data-testid="record-deferral" aria-expanded={deferring} onClick={() => setDeferring(!deferring)}>
            {t('record.deferral')}
          </button>
        </div>
      </form>
      {deferring ? (
        <form
          class="stack"
          aria-label={t('record.deferral_submit')}
          onSubmit={(e) => {
            e.preventDefault();
            void record('deferred');
          }}
        >
          <label>
            {t('record.deferral_reason')}
            <select data-testid="deferral-reason" required value={reason} onChange={(e) => setReason(e.currentTarget.value)}>
              <option value="" />
              {reasons.value.map((x) => (
                <option key={x.code} value={x.code}>
                  {lang.value === 'en' ? x.label_en : x.label_vi}
                </option>
              ))}
            </select>
          </label>
          <div class="row">
            <label class="grow">
              {t('record.deferred_until')}
              <input
                data-testid="deferred-until"
                type="date"
                min={addDays(today(), 1)}
                disabled={permanent}
                required={!permanent}
                value={until}
                onInput={(e) => setUntil(e.currentTarget.value)}
              />
            </label>
            <label class="check">
              <input type="checkbox" checked={permanent} onChange={(e) => setPermanent(e.currentTarget.checked)} /> {t('record.permanent')}
            </label>
          </div>
          <button type="submit" class="primary" data-testid="record-deferral-submit">
            {t('record.deferral_submit')}
          </button>
        </form>
      ) : null}
      <p role="status" class="error">
        {msg}
      </p>
      <button type="button" onClick={() => (selected.value = null)}>
        {t('donor.change')}
      </button>
    </section>
  );
}

export function DonorArea() {
  const [registering, setRegistering] = useState(false);
  const done = settled.value;
  useEffect(() => {
    const s = selected.value;
    if (done && s?.id === done.local) void getDonor(done.server).then((c) => c && (selected.value = c));
  }, [done]);
  const d = selected.value;
  return (
    <>
      <p role="status" class="notice-line" data-testid="record-status">
        {status.value}
      </p>
      {registering ? (
        <DonorForm onDone={() => setRegistering(false)} />
      ) : (
        <DonorSearch
          onNew={() => {
            status.value = '';
            setRegistering(true);
          }}
        />
      )}
      {d ? <DonorPanel key={d.id} d={d} /> : null}
    </>
  );
}
