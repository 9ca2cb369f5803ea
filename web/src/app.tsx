import { useEffect, useState } from 'preact/hooks';
import { ApiError, NetworkError, online } from './api';
import { lang, setLang, t } from './i18n';
import { LogScreen } from './log';
import { canLog, expiredNotice, navigate, path, ready, session, signedIn, signIn, signOut, user } from './state';
import { flush, queueItems } from './sync';

function Header() {
  const u = user.value;
  const s = session.value;
  return (
    <header class="top">
      <a class="brand" href="/" onClick={(e) => (e.preventDefault(), navigate('/'))}>
        {t('app.title')}
      </a>
      <span data-testid="whoami" class="whoami">
        {u ? (
          <>
            <strong>{u.username}</strong> · {t(`role.${u.role}`)}
            {s?.chapter_name ? <> · {t('whoami.chapter', { name: s.chapter_name })}</> : null}
          </>
        ) : (
          t('whoami.none')
        )}
      </span>
      <span data-testid="online-status" data-online={String(online.value)} class={online.value ? 'pill on' : 'pill off'}>
        {online.value ? t('status.online') : t('status.offline')}
      </span>
      <button
        type="button"
        data-testid="lang-switch"
        title={t('lang.switch_label')}
        lang={lang.value === 'vi' ? 'en' : 'vi'}
        onClick={() => setLang(lang.value === 'vi' ? 'en' : 'vi')}
      >
        {t('lang.switch')}
      </button>
      {u ? (
        <button type="button" data-testid="signout" onClick={() => void signOut()}>
          {t('signout')}
        </button>
      ) : null}
    </header>
  );
}

function SignIn() {
  const [username, setUsername] = useState(session.value?.user.username ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const previous = session.value?.user.id;
  const others = queueItems.value.filter((i) => i.state === 'queued' && i.owner !== previous).length;

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await signIn(username.trim(), password);
      void flush();
      navigate(canLog.value ? '/log' : '/', true);
    } catch (err) {
      if (err instanceof NetworkError) setError(t('signin.offline'));
      else if (err instanceof ApiError && err.status === 429) setError(t('signin.rate_limited'));
      else setError(t('signin.failed'));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="narrow">
      <h1>{t('signin.title')}</h1>
      {expiredNotice.value ? <p class="notice">{t('signin.expired')}</p> : null}
      {others ? <p class="notice">{t('signin.other_user', { n: others })}</p> : null}
      <form onSubmit={submit} class="stack">
        <label>
          {t('signin.username')}
          <input
            data-testid="signin-username"
            name="username"
            autocomplete="username"
            autocapitalize="none"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          {t('signin.password')}
          <input
            data-testid="signin-password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <p data-testid="signin-error" role="alert" class="error">
          {error}
        </p>
        <button type="submit" class="primary" data-testid="signin-submit" disabled={busy}>
          {busy ? t('signin.busy') : t('signin.submit')}
        </button>
      </form>
    </main>
  );
}

function Home() {
  const u = user.value;
  return (
    <main id="main">
      <h1>{t('home.title')}</h1>
      <p>{t('home.welcome', { name: u?.username ?? '' })}</p>
      <ul class="links">
        {canLog.value ? (
          <li>
            <a href="/log" data-testid="nav-log" onClick={(e) => (e.preventDefault(), navigate('/log'))}>
              {t('home.log')}
            </a>
          </li>
        ) : (
          <li>{t('home.no_screens')}</li>
        )}
        <li>
          <a href="/docs">{t('home.api_docs')}</a>
        </li>
      </ul>
    </main>
  );
}

function Forbidden() {
  return (
    <main id="main">
      <h1>{t('log.title')}</h1>
      <p data-testid="forbidden" role="alert" class="error">
        {t('forbidden')}
      </p>
      <a href="/" onClick={(e) => (e.preventDefault(), navigate('/'))}>
        {t('forbidden.home')}
      </a>
    </main>
  );
}

export function App() {
  const p = path.value;
  // Offline, a session whose token lapsed still records (sent after the same user signs in).
  const mayUse = signedIn.value || (!online.value && !!session.value);
  useEffect(() => {
    if (!ready.value) return;
    if (p !== '/signin' && !mayUse) navigate('/signin', true);
  }, [p, mayUse, ready.value]);
  useEffect(() => {
    document.documentElement.lang = lang.value;
    document.title = t('app.title');
  }, [lang.value]);
  if (!ready.value) return null;
  let screen;
  if (p === '/signin' || !mayUse) screen = <SignIn />;
  else if (p === '/log') screen = canLog.value ? <LogScreen /> : <Forbidden />;
  else screen = <Home />;
  return (
    <>
      <a class="skip" href="#main">
        {t('app.skip')}
      </a>
      <Header />
      {screen}
    </>
  );
}
