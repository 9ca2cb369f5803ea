import { render } from 'preact';
import { App } from './app';
import { lang } from './i18n';
import { boot } from './state';
import { startSync } from './sync';
import './styles.css';

document.documentElement.lang = lang.value;

void boot().then(() => {
  startSync();
  const root = document.getElementById('app');
  if (root) render(<App />, root);
});

if ('serviceWorker' in navigator) {
  // Secure contexts only (HTTPS or localhost): elsewhere the app still runs, online only.
  void navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => undefined);
}
