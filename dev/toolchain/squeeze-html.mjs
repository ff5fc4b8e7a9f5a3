// Takes what only a developer reads out of the release index.html: its comments and the indentation of every line
// (about 170 B of the page's gzip, BENCHMARKS.md section 1), and the white space, quotes and zeros of its inline
// <style> that change no rule (csso without restructuring, about 125 B more): rules keep their order and
// selectors, so the cascade is the one the source states. The page has no <pre> or <textarea>, where leading white
// space would show; a line break stays a line break, so text reads as before. The style's CSP hash is taken from the
// built file (the BFF at run time, deploy/nginx/csp-hashes.sh for nginx), so it follows.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { minify } from "csso";

/** Rewrites DIR/index.html without comments, indentation or blank lines, its inline styles minified. */
export function squeezeHtml(dir) {
  const path = join(dir, "index.html");
  writeFileSync(path, squeeze(readFileSync(path, "utf8"), path));
}

/** HTML's text squeezed (see the file's comment); `path` names it in the error. */
export function squeeze(html, path = "index.html") {
  if (/<(pre|textarea)\b/i.test(html)) {
    throw new Error(`${path} has a <pre> or <textarea>: its indentation may matter, so it is left as it is`);
  }
  const squeezed = html
    .replace(/<!--[\s\S]*?-->/g, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join("\n");
  // `restructure: false`: no rules merged, moved or split, only each declaration written in its shortest form.
  const styled = squeezed.replace(
    /(<style>)([\s\S]*?)(<\/style>)/gi,
    (_, open, css, close) => open + minify(css, { restructure: false }).css + close,
  );
  return styled + "\n";
}
