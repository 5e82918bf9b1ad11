// MLSec Lab's service worker. `cargo xtask build` (and `dist`) writes dist/sw.js from this
// template: __VERSION__ becomes the hash of the code files (which live under v/<version>/) and
// __FILES__ the list of every file of the site with its size.
//
// On the first visit it saves the whole site (lessons, data, models, code) into a cache named
// after the version, telling the open pages how many bytes are saved so far; from then on it
// serves every request of the site from that cache, so a reload without network works, and a
// workshop served from a USB stick keeps working once the stick is gone. A redeployed site has
// another version: its worker saves into a new cache and takes over only when no page of the
// old version is open (no skipWaiting), so a running page never gets files of another version.
'use strict';

const VERSION = '__VERSION__';
const FILES = __FILES__;
const CACHE = `mlsec-lab-${VERSION}`;

async function tell(message) {
  const pages = await self.clients.matchAll({ includeUncontrolled: true, type: 'window' });
  for (const page of pages) page.postMessage({ type: 'mlsec-offline', version: VERSION, ...message });
}

async function saveAll() {
  const cache = await caches.open(CACHE);
  const total = FILES.reduce((sum, [, bytes]) => sum + bytes, 0);
  let done = 0;
  let told = 0;
  for (const [path, bytes] of FILES) {
    const url = new URL(path, self.registration.scope).href;
    if (!(await cache.match(url))) {
      const response = await fetch(url, { cache: 'reload' });
      if (!response.ok) throw new Error(`${path}: the server answered ${response.status}`);
      await cache.put(url, response);
    }
    done += bytes;
    // A message per quarter megabyte at most: the pages only show a byte count.
    if (done - told > 256 * 1024 || done === total) {
      told = done;
      await tell({ state: 'saving', done, total });
    }
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    saveAll().catch(async (e) => {
      await tell({ state: 'failed', reason: String(e) });
      throw e;
    }),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('mlsec-lab-') && name !== CACHE) await caches.delete(name);
      }
      // The first visit's page runs this version's code already: take it over now.
      await self.clients.claim();
      await tell({ state: 'ready' });
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data === 'mlsec-offline-state') {
    caches.has(CACHE).then((saved) =>
      // The active worker answers: its install finished, so its cache is whole.
      event.source?.postMessage({ type: 'mlsec-offline', version: VERSION, state: saved ? 'ready' : 'saving' }),
    );
  }
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(request, { ignoreSearch: true });
      if (hit) return hit;
      if (request.mode === 'navigate') {
        const index = await cache.match(new URL('./', self.registration.scope).href);
        if (index) return index;
      }
      return fetch(request);
    })(),
  );
});
