// The HTTP client: bearer token, problem+json errors, and the online signal fed by real
// fetch results (navigator.onLine alone says nothing about a captive portal or a dead server).
import { signal } from '@preact/signals';
import type { Problem, Reply, Transport } from './queue';

export const BASE = '/api/v1';

export const online = signal<boolean>(typeof navigator === 'undefined' ? true : navigator.onLine);
if (typeof window !== 'undefined') {
  window.addEventListener('online', () => (online.value = true));
  window.addEventListener('offline', () => (online.value = false));
}

let token = '';
let onUnauthorized: () => void = () => {};

export function setToken(t: string): void {
  token = t;
}

export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.code);
  }
}

/** No answer from the server. */
export class NetworkError extends Error {}

export interface Options {
  body?: unknown;
  query?: Record<string, string | number | undefined | null>;
  headers?: Record<string, string>;
  /** Leave a 401 to the caller (sign-in). */
  noAuthHandler?: boolean;
}

function url(path: string, query?: Options['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `${BASE}${path}${s ? `?${s}` : ''}`;
}

/** Sends a request and returns the status and the parsed body, whatever the status. */
export async function raw(method: string, path: string, opts: Options = {}): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? null : JSON.stringify(opts.body),
    });
  } catch (e) {
    online.value = false;
    throw new NetworkError(String(e));
  }
  online.value = true;
  let body: unknown = null;
  const text = await res.text();
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (res.status === 401 && !opts.noAuthHandler) onUnauthorized();
  return { status: res.status, body };
}

export async function api<T>(method: string, path: string, opts: Options = {}): Promise<T> {
  const r = await raw(method, path, opts);
  if (r.status >= 200 && r.status < 300) return r.body as T;
  const p = r.body as Problem | null;
  throw new ApiError(r.status, p && typeof p.code === 'string' ? p : { code: `http_${r.status}`, status: r.status });
}

export const get = <T>(path: string, query?: Options['query']) => api<T>('GET', path, query ? { query } : {});

export const httpTransport: Transport = {
  createDonor: (body, key) => raw('POST', '/donors', { body, headers: { 'Idempotency-Key': key } }),
  sendBatch: (eventId, items) => raw('POST', `/events/${encodeURIComponent(eventId)}/donations/batch`, { body: { items } }),
};
