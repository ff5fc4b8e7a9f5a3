// Takes what only a developer reads out of the release index.html: its comments and the indentation of every line
// (about 170 B of the page's gzip, BENCHMARKS.md section 1). The page has no <pre> or <textarea>, where leading
// white space would show; a line break stays a line break, so text and CSS read as before.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Rewrites DIR/index.html without comments, indentation or blank lines. */
export function squeezeHtml(dir) {
  const path = join(dir, "index.html");
  const html = readFileSync(path, "utf8");
  if (/<(pre|textarea)\b/i.test(html)) {
    throw new Error(`${path} has a <pre> or <textarea>: its indentation may matter, so it is left as it is`);
  }
  const squeezed = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n");
  writeFileSync(path, squeezed + "\n");
}
