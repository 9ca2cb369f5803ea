// A server problem in the current language: the stable `code` picks the text; an unknown
// code is shown as it is rather than hidden.
import { fmtDate, has, t } from './i18n';
import type { Problem } from './queue';

export function reasonText(code: string | null | undefined): string {
  if (!code) return '';
  const key = `reason.${code}`;
  return has(key) ? t(key) : t('reason.unknown', { code });
}

function fieldText(field: string, code: string, message?: string): string {
  const fk = `field.${field}`;
  const ck = `field.code.${code}`;
  return t('error.field', {
    field: has(fk) ? t(fk) : field,
    message: has(ck) ? t(ck) : message || code,
  });
}

export function problemText(p: Problem | undefined): string {
  if (!p) return '';
  if (p.code === 'donor_not_eligible') {
    const why = reasonText(p.reason ?? null) || p.detail || '';
    const until = p.next_eligible_on ? ` ${t('elig.next')} ${fmtDate(p.next_eligible_on)}.` : '';
    return t('error.donor_not_eligible', { reason: why }) + until;
  }
  const key = `error.${p.code}`;
  const head = has(key) ? t(key) : t('error.generic', { code: p.code });
  const fields = (p.errors ?? []).map((e) => fieldText(e.field, e.code, e.message));
  return [head, ...fields].join(' ');
}
