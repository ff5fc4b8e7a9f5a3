// Starts the SPA from a file instead of Trunk's inline module script, so the page runs under a strict
// `script-src 'self' 'wasm-unsafe-eval'` (no hashes, no 'unsafe-inline'). Trunk.toml's `pattern_script` writes the
// <script src="/boot.js" data-js=... data-wasm=...> tag with the hashed file names.
const tag = document.querySelector("script[data-js][data-wasm]");
const bindings = await import(tag.dataset.js);
await bindings.default({ module_or_path: tag.dataset.wasm });
