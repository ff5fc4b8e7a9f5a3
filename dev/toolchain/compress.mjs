// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip -9) next to every .wasm, .js and .html file of a
// built SPA, so the BFF (`static_dir`) and nginx (`gzip_static`) send compressed bytes without compressing on
// each request. Node's own zlib: no extra tool to install. Run by Trunk's post-build hook on release builds
// (Trunk.toml), or by hand: `node dev/toolchain/compress.mjs DIR`.
import { readdirSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const dir = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("usage: node compress.mjs DIR (or run as a Trunk hook)");
  process.exit(2);
}
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== "release") {
  process.exit(0); // `trunk serve` (debug) serves plain files
}
for (const name of readdirSync(dir)) {
  const path = join(dir, name);
  if (name.endsWith(".br") || name.endsWith(".gz")) {
    // Left over from an earlier build of a file that may have changed.
    unlinkSync(path);
    continue;
  }
  if (!/\.(wasm|js|html)$/.test(name)) continue;
  const data = readFileSync(path);
  const br = brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
  writeFileSync(path + ".br", br);
  writeFileSync(path + ".gz", gzipSync(data, { level: 9 }));
}
