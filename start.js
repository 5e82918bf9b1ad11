// Boots the Yew app. It is a file of its own (not the inline script Trunk injects by default)
// so that index.html can forbid inline script in its Content-Security-Policy.
import init from './app.js';
await init({ module_or_path: new URL('./app_bg.wasm', import.meta.url) });
