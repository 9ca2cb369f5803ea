// Session and routing state, shared by the screens.
import { computed, signal } from '@preact/signals';
import { api, ApiError, get, online, setToken, setUnauthorizedHandler } from './api';
import { loadSession, saveSession, type Me, type Session } from './db';

/** The stored session; `token` empty once the server said 401 (the user is kept for the queue). */
export const session = signal<Session | null>(null);
export const ready = signal(false);

export const signedIn = computed(() => {
  const s = session.value;
  return !!s && !!s.token && s.expires_at > Date.now();
});

/** The user whose records this device sends: the signed-in one, or the last one while offline. */
export const user = computed<Me | null>(() => session.value?.user ?? null);

export const path = signal(typeof location === 'undefined' ? '/' : location.pathname);

export function navigate(to: string, replace = false): void {
  if (to === path.value) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  path.value = to;
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => (path.value = location.pathname));
}

export const expiredNotice = signal(false);

async function expire(): Promise<void> {
  const s = session.value;
  if (!s || !s.token) return;
  const kept = { ...s, token: '' };
  setToken('');
  session.value = kept;
  expiredNotice.value = true;
  await saveSession(kept);
}

setUnauthorizedHandler(() => void expire());

export async function boot(): Promise<void> {
  const s = (await loadSession()) ?? null;
  if (s && s.token && s.expires_at <= Date.now()) s.token = '';
  if (s?.token) setToken(s.token);
  session.value = s;
  if (s && !s.token) expiredNotice.value = true;
  ready.value = true;
}

interface Login {
  access_token: string;
  expires_in: number;
}

interface Chapter {
  id: string;
  name: string;
}

export async function signIn(username: string, password: string): Promise<void> {
  const login = await api<Login>('POST', '/auth/login', { body: { username, password }, noAuthHandler: true });
  setToken(login.access_token);
  let me: Me;
  try {
    me = await get<Me>('/auth/me');
  } catch (e) {
    setToken(session.value?.token ?? '');
    throw e;
  }
  let chapter_name: string | null = null;
  if (me.chapter_id) {
    try {
      const chapters = await get<Chapter[] | { items: Chapter[] }>('/chapters');
      const list = Array.isArray(chapters) ? chapters : chapters.items;
      chapter_name = list.find((c) => c.id === me.chapter_id)?.name ?? null;
    } catch {
      chapter_name = null;
    }
  }
  const s: Session = { token: login.access_token, expires_at: Date.now() + login.expires_in * 1000, user: me, chapter_name };
  await saveSession(s);
  expiredNotice.value = false;
  session.value = s;
}

export async function signOut(): Promise<void> {
  setToken('');
  await saveSession(null);
  session.value = null;
  navigate('/signin');
}

export const canLog = computed(() => {
  const r = user.value?.role;
  return r === 'admin' || r === 'coordinator';
});

export { ApiError, online };
