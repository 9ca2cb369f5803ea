import { signal } from '@preact/signals';
import { vi, type Key } from './vi';
import { en } from './en';

export type Lang = 'vi' | 'en';
export type { Key };

export const catalogues: Record<Lang, Record<Key, string>> = { vi, en };

function initialLang(): Lang {
  try {
    return globalThis.localStorage?.getItem('hienmau.lang') === 'en' ? 'en' : 'vi';
  } catch {
    return 'vi';
  }
}

export const lang = signal<Lang>(initialLang());

export function setLang(l: Lang): void {
  lang.value = l;
  try {
    localStorage.setItem('hienmau.lang', l);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
  if (typeof document !== 'undefined') document.documentElement.lang = l;
}

/** The text of `key` in the current language, with `{name}` placeholders filled. */
export function t(key: Key, params?: Record<string, string | number>, l: Lang = lang.value): string {
  let s = catalogues[l][key];
  if (params) {
    for (const [k, v] of Object.entries(params)) s = s.split(`{${k}}`).join(String(v));
  }
  return s;
}

/** Whether the catalogue has `key` (for codes that come from the server). */
export function has(key: string): key is Key {
  return Object.prototype.hasOwnProperty.call(vi, key);
}

const locale = (l: Lang) => (l === 'vi' ? 'vi-VN' : 'en-GB');
const TZ = 'Asia/Ho_Chi_Minh';

/** A `YYYY-MM-DD` calendar date as dd/mm/yyyy (vi-VN) or the English form. */
export function fmtDate(iso: string, l: Lang = lang.value): string {
  const [y, m, d] = iso.slice(0, 10).split('-').map(Number);
  if (!y || !m || !d) return iso;
  // Noon UTC is the same calendar day in Asia/Ho_Chi_Minh (UTC+7).
  const at = new Date(Date.UTC(y, m - 1, d, 12));
  return new Intl.DateTimeFormat(locale(l), { timeZone: TZ, day: '2-digit', month: '2-digit', year: 'numeric' }).format(at);
}

/** An instant (RFC 3339 or epoch ms) as a date and time in Viet Nam's zone. */
export function fmtTime(at: string | number, l: Lang = lang.value): string {
  return new Intl.DateTimeFormat(locale(l), { timeZone: TZ, dateStyle: 'short', timeStyle: 'short' }).format(new Date(at));
}

export function fmtNumber(n: number, l: Lang = lang.value): string {
  return new Intl.NumberFormat(locale(l)).format(n);
}

/** Today's calendar date in Viet Nam's zone, `YYYY-MM-DD`. */
export function today(now: Date = new Date()): string {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

export function addDays(iso: string, days: number): string {
  const [y, m, d] = iso.split('-').map(Number);
  const at = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days));
  return at.toISOString().slice(0, 10);
}
