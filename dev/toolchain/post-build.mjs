// Trunk's post-build hook (Trunk.toml) for release builds: index.html loses its comments and indentation, the
// wasm's imports and hash-named exports get short names, the JS glue and the loader are minified, the loader gets
// a hashed name, then every file gets its precompressed copies.
// One hook, not two: Trunk starts the hooks of a stage concurrently, and the copies must be made of the final names.
import { fingerprintBoot } from "./fingerprint.mjs";
import { compressDir } from "./compress.mjs";
import { minifyJs } from "./minify-js.mjs";
import { shortenNames } from "./short-names.mjs";
import { squeezeHtml } from "./squeeze-html.mjs";

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error("post-build.mjs runs as Trunk's hook (TRUNK_STAGING_DIR unset)");
  process.exit(2);
}
if (process.env.TRUNK_PROFILE && process.env.TRUNK_PROFILE !== "release") {
  process.exit(0); // `trunk serve` (debug) serves plain files under their own names
}
squeezeHtml(dir);
shortenNames(dir);
await minifyJs(dir);
fingerprintBoot(dir);
await compressDir(dir);
