// Minifies the SPA's JavaScript with terser: wasm-bindgen's JS glue (about 1.8 KB of its 7.2 KB gzip, BENCHMARKS.md
// section 1), keeping index.html's subresource integrity hash of it true, and the loader boot.js (its comments;
// about 180 B). Trunk's own `--minify` fails on the glue's syntax, and both are read by browsers, not people (the
// sources are in the repository). Property names stay: the wasm's imports are looked up by name. Run on release
// builds by Trunk's post-build hook (`post-build.mjs`), before the loader is named by its hash and before the
// copies are compressed.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minify } from "terser";
import { rehash } from "./integrity.mjs";

/** Minifies DIR's .js files in place; the glue's integrity hash in DIR/index.html is rewritten to match. */
export async function minifyJs(dir) {
  const indexPath = join(dir, "index.html");
  let index = readFileSync(indexPath, "utf8");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".js")) continue;
    // The loader is named by the hook (fingerprint.mjs) and carries no integrity hash; the glue must carry one.
    const loader = name === "boot.js";
    const path = join(dir, name);
    const code = readFileSync(path, "utf8");
    const result = await minify(code, { module: true, compress: true, mangle: true });
    index = rehash(index, code, result.code, loader ? 0 : 1, path);
    writeFileSync(path, result.code);
  }
  writeFileSync(indexPath, index);
}
