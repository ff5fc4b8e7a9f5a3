// The subresource integrity hashes in index.html. Trunk writes `integrity="sha384-…"` on the glue's modulepreload
// and the wasm's preload, and a browser refuses a file whose hash does not match, so every post-build step that
// rewrites one of those files rewrites its hash with it, through this one function.
import { createHash } from "node:crypto";

const integrity = (data) => "sha384-" + createHash("sha384").update(data).digest("base64");

/**
 * `index` (index.html's text) with the integrity hash of `before` replaced by that of `after`. Throws unless the
 * old hash occurs `expected` times (0 for a file the page names without one, such as the loader); `file` names
 * the file in the message.
 */
export function rehash(index, before, after, expected, file) {
  const old = integrity(before);
  const count = index.split(old).length - 1;
  if (count !== expected) {
    throw new Error(`index.html names the integrity hash of ${file} ${count} times (expected ${expected})`);
  }
  return index.replace(old, integrity(after));
}
