// Minifies wasm-bindgen's JS glue with terser (about 1.8 KB of its 7.2 KB gzip, BENCHMARKS.md section 1), keeping
// index.html's subresource integrity hash of it true. Trunk's own `--minify` fails on the glue's syntax, and the
// glue is generated code that nobody reads in the browser. Property names stay: the wasm's imports are looked up by
// name. Run on release builds by Trunk's post-build hook (`post-build.mjs`), before the copies are compressed.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minify } from "terser";

const integrity = (data) => "sha384-" + createHash("sha384").update(data).digest("base64");

/** Minifies DIR's JS glue (every .js but the loader) in place and rewrites its integrity hash in DIR/index.html. */
export async function minifyGlue(dir) {
  const indexPath = join(dir, "index.html");
  let index = readFileSync(indexPath, "utf8");
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(".js") || /^boot(-[0-9a-f]+)?\.js$/.test(name)) continue;
    const path = join(dir, name);
    const code = readFileSync(path, "utf8");
    const result = await minify(code, { module: true, compress: true, mangle: true });
    const before = integrity(code);
    const count = index.split(before).length - 1;
    if (count !== 1) {
      throw new Error(`${indexPath} should name ${name}'s integrity hash exactly once (found ${count})`);
    }
    writeFileSync(path, result.code);
    index = index.replace(before, integrity(result.code));
  }
  writeFileSync(indexPath, index);
}
