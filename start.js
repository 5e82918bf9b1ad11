// Boots the Yew app. It is a file of its own (not the inline script Trunk injects by default)
// so that index.html can forbid inline script in its Content-Security-Policy.
//
// In a built site this file lives under v/<version>/ with the rest of the code
// (xtask/src/site.rs); the page's worker is loaded from the same folder. It also registers the
// service worker (sw.js at the site's root) and passes what it says about the offline copy to
// the page as `mlsecOffline` and an `mlsec-offline` event.
import init from './app.js';

const codeBase = new URL('./', import.meta.url).href;
globalThis.mlsecCodeBase = codeBase;
const version = codeBase.match(/\/v\/([0-9a-f]+)\/$/)?.[1];

function announce(state, detail = {}) {
  globalThis.mlsecOffline = { state, ...detail };
  window.dispatchEvent(new Event('mlsec-offline'));
}

async function keepOffline() {
  if (!('serviceWorker' in navigator)) {
    return announce('unavailable', { reason: 'this browser cannot keep a site offline' });
  }
  if (!version) {
    return announce('unavailable', { reason: 'a development build is not kept offline' });
  }
  navigator.serviceWorker.addEventListener('message', (event) => {
    const data = event.data;
    if (data?.type !== 'mlsec-offline') return;
    if (data.version === version) return announce(data.state, data);
    // A redeployed version saving itself beside this one: it takes over once this tab closes.
    if (data.state === 'saving' && data.done === data.total) announce('update');
  });
  try {
    const registration = await navigator.serviceWorker.register(new URL('sw.js', document.baseURI), {
      scope: new URL('./', document.baseURI).href,
    });
    if (registration.waiting && navigator.serviceWorker.controller) {
      announce('update', {});
    } else if (registration.active && !registration.installing) {
      registration.active.postMessage('mlsec-offline-state');
    } else {
      announce('saving', { done: 0, total: 0 });
    }
  } catch (e) {
    announce('unavailable', { reason: String(e.message ?? e) });
  }
}

// The instructors' pages (class view, receipt check, workshop maker) are a module of their own
// (src/instructor.rs), imported the first time one opens; a failed load is tried again next time.
let instructor = null;
globalThis.mlsecLoadInstructor = () => {
  instructor ??= (async () => {
    const module = await import('./instructor.js');
    await module.default({ module_or_path: new URL('./instructor_bg.wasm', import.meta.url) });
    return module;
  })().catch((e) => {
    instructor = null;
    throw e;
  });
  return instructor;
};

await init({ module_or_path: new URL('./app_bg.wasm', import.meta.url) });
// For `cargo xtask bench`: where the time to the first render goes (code fetched, compiled and
// started by here; the course is loaded and rendered after).
performance.mark('mlsec-code-started');
// After the first render: saving the site for offline use must not delay it.
keepOffline();
