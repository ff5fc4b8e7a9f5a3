// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip) next to every .wasm, .js and .html file of a
// built SPA, so the BFF (`static_dir`) and nginx (`gzip_static`) send compressed bytes without compressing on
// each request. The gzip copies are zopfli's (@gfx/zopfli, 15 iterations): plain gzip that any browser reads, about
// 5% smaller than zlib's level 9 (the SPA: 113.7 → 108.1 KB, BENCHMARKS.md section 1) for about 1.3 s of build
// time; brotli is Node's own zlib. Run on release builds by Trunk's post-build hook (`post-build.mjs`), or by hand:
// `node dev/toolchain/compress.mjs DIR`.
import { readdirSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { brotliCompressSync, constants } from "node:zlib";

/** Writes the .br and .gz copies of DIR's .wasm, .js and .html files (earlier copies removed first). */
export async function compressDir(dir) {
  // Loaded here, not at the top: its Emscripten runtime prints its whole source with any uncaught error, which would
  // bury the message of a failed step that runs before this one in the same hook.
  const { gzipAsync } = await import("@gfx/zopfli");
  // Copies left over from an earlier build of a file that may have changed go first, in a pass of their own: a
  // copy written below must not be deleted later in the same listing.
  for (const name of readdirSync(dir)) {
    if (name.endsWith(".br") || name.endsWith(".gz")) unlinkSync(join(dir, name));
  }
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
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
    writeFileSync(path + ".gz", await gzipAsync(data, { numiterations: 15 }));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv[2]) {
    console.error("usage: node compress.mjs DIR");
    process.exit(2);
  }
  await compressDir(process.argv[2]);
}
