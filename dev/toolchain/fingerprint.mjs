// Gives the SPA's loader a content-hashed name (`boot.js` → `boot-<16 hex>.js`) and points index.html at it.
// Trunk fingerprints the wasm and the JS glue but copies boot.js as it is, and an unhashed name must be served
// `no-cache`: on the OP's redirect back, with everything else in the browser's cache, revalidating boot.js costs a
// round trip after index.html's before the wasm can start. A hashed name is served `immutable` by the BFF's static
// mode and the shipped nginx config (their rule: `<name>-<16 hex>.<ext>`), so it comes from the cache at once.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Renames DIR/boot.js to its hashed name and rewrites DIR/index.html's reference; returns the new name. */
export function fingerprintBoot(dir) {
  const boot = join(dir, "boot.js");
  if (!existsSync(boot)) {
    throw new Error(`${boot} is missing: Trunk.toml's pattern_script and frontend/index.html name it`);
  }
  const hash = createHash("sha256").update(readFileSync(boot)).digest("hex").slice(0, 16);
  const name = `boot-${hash}.js`;
  const indexPath = join(dir, "index.html");
  const index = readFileSync(indexPath, "utf8");
  // Trunk.toml's pattern_script writes `src="{base}boot.js"`; whatever the base, only that attribute changes.
  const reference = /(src="[^"]*\/)boot\.js"/g;
  const matches = index.match(reference) ?? [];
  if (matches.length !== 1) {
    throw new Error(`${indexPath} should load boot.js from exactly one script tag (found ${matches.length})`);
  }
  writeFileSync(indexPath, index.replace(reference, `$1${name}"`));
  renameSync(boot, join(dir, name));
  return name;
}
