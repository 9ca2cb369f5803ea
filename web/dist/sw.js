// hienmau's service worker: keeps the app shell so that /log opens with no connection.
// The build replaces VERSION and ASSETS (scripts/sw-version.mjs); the API is never cached here
// (the app keeps its own data in IndexedDB).
const VERSION = '0075ce3ab9bec105';
const ASSETS = ["/assets/index-DmRAvHux.css","/assets/index-h56yu604.js"];
const CACHE = `hienmau-shell-${VERSION}`;
const SHELL = ['/', '/manifest.webmanifest', '/icon.svg', '/icon-192.png', '/icon-512.png', ...ASSETS];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('hienmau-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

const SERVER_PATHS = /^\/(api|docs|health|ready|metrics)(\/|$)/;

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), ms));
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || SERVER_PATHS.test(url.pathname)) return;

  if (req.mode === 'navigate') {
    // Every client-side route is the same shell: the network's when it answers soon, else the kept one.
    event.respondWith(
      Promise.race([fetch(req), timeout(4000)])
        .then((res) => (res.ok ? res : caches.match('/').then((c) => c || res)))
        .catch(() => caches.match('/').then((c) => c || Response.error())),
    );
    return;
  }

  // Hashed assets never change under the same name: the cache first.
  event.respondWith(
    caches.match(req).then(
      (hit) =>
        hit ||
        fetch(req).then((res) => {
          if (res.ok && url.pathname.startsWith('/assets/')) {
            const copy = res.clone();
            void caches.open(CACHE).then((c) => c.put(req, copy));
          }
          return res;
        }),
    ),
  );
});
