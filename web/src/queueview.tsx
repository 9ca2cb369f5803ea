import { problemText } from './errors';
import { fmtNumber, fmtTime, has, t } from './i18n';
import type { Item } from './queue';
import { selected } from './donor';
import { getDonor } from './db';
import { user } from './state';
import { confirmDuplicate, discard, pausedForAuth, queueItems, retryNow } from './sync';

function label(i: Item): string {
  if (i.kind === 'donor') return t('queue.donor', { name: i.body.full_name });
  if (i.body.outcome === 'deferred') return t('queue.deferred', { name: i.donor_name });
  const key = `component.${i.body.component}`;
  return t('queue.collected', {
    name: i.donor_name,
    component: has(key) ? t(key) : i.body.component,
    ml: fmtNumber(i.body.volume_ml),
  });
}

async function useExisting(id: string): Promise<void> {
  const serverId = await confirmDuplicate(id);
  // The donor on screen, if it was this registration, becomes the existing one.
  const s = selected.value;
  if (serverId && s?.id === id) {
    const cached = await getDonor(serverId);
    selected.value = cached ?? { ...s, id: serverId, donor: { ...s.donor, id: serverId }, seen_at: Date.now() };
  }
}

function Row({ i }: { i: Item }) {
  const state = i.state;
  return (
    <li data-testid={i.kind === 'donor' ? 'queue-donor' : 'queue-item'} data-state={state} class={`q ${state}`}>
      <span class="q-what">{label(i)}</span>
      <span class="q-meta">
        {t(`queue.${state}`)} · {fmtTime(i.created_at)}
        {state === 'queued' && i.kind === 'donation' && i.donor_local ? ` · ${t('queue.waiting_donor')}` : ''}
        {state === 'queued' && i.attempts > 0 ? ` · ${t('queue.attempts', { n: i.attempts })}` : ''}
        {i.kind === 'donation' && i.donation?.unit_code ? ` · ${i.donation.unit_code}` : ''}
      </span>
      {state === 'refused' ? (
        <>
          <span data-testid="queue-reason" class="error">
            {problemText(i.error)}
          </span>
          <button type="button" data-testid="queue-discard" onClick={() => void discard(i.id)}>
            {t('queue.discard')}
          </button>
        </>
      ) : null}
      {state === 'conflict' ? (
        <div data-testid="donor-duplicate" class="notice">
          <p>{t('donor.duplicate')}</p>
          <button type="button" data-testid="donor-duplicate-confirm" onClick={() => void useExisting(i.id)}>
            {t('donor.duplicate_confirm')}
          </button>{' '}
          <button type="button" data-testid="queue-discard" onClick={() => void discard(i.id)}>
            {t('queue.discard')}
          </button>
        </div>
      ) : null}
    </li>
  );
}

export function QueueView() {
  const me = user.value?.id;
  const all = queueItems.value;
  const mine = all.filter((i) => i.owner === me);
  const others = all.filter((i) => i.owner !== me && i.state === 'queued').length;
  // The counters count records of donations; registrations are listed but not counted.
  const count = (f: (i: Item) => boolean) => String(mine.filter((i) => i.kind === 'donation' && f(i)).length);
  const shown = [...mine].reverse();
  return (
    <section class="card" data-testid="queue" aria-labelledby="queue-h">
      <h2 id="queue-h">{t('queue.title')}</h2>
      <dl class="figures small">
        <div>
          <dt>{t('queue.queued')}</dt>
          <dd data-testid="queue-count-queued">{count((i) => i.state === 'queued' || i.state === 'conflict')}</dd>
        </div>
        <div>
          <dt>{t('queue.sent')}</dt>
          <dd data-testid="queue-count-sent">{count((i) => i.state === 'sent')}</dd>
        </div>
        <div>
          <dt>{t('queue.refused')}</dt>
          <dd data-testid="queue-count-refused">{count((i) => i.state === 'refused')}</dd>
        </div>
      </dl>
      {pausedForAuth.value ? <p class="notice">{t('queue.paused_auth')}</p> : null}
      {others ? <p class="muted">{t('queue.other_user', { n: others })}</p> : null}
      {shown.length ? (
        <ul class="queue" aria-live="polite">
          {shown.map((i) => (
            <Row key={i.id} i={i} />
          ))}
        </ul>
      ) : (
        <p class="muted">{t('queue.empty')}</p>
      )}
      {mine.some((i) => i.state === 'queued') ? (
        <button type="button" onClick={() => void retryNow()}>
          {t('queue.retry')}
        </button>
      ) : null}
    </section>
  );
}
