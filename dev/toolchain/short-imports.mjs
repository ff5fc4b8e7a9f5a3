// Gives the wasm's imports from its JS glue short names (`w0`, `w1`, …) in both files. wasm-bindgen names each
// import after its function plus a 16-hex hash (`__wbg_fetch_4c88d8bf264fd984`), once in the wasm's import section
// and once as a key of the glue's import object: 121 such names, whose hashes gzip cannot compress, came to
// 3.7 KB of the SPA's gzip total (BENCHMARKS.md section 1). The names mean nothing to a browser, which only
// matches the two spellings. Every renamed name must occur exactly once in the glue, or the build stops; index.html's
// integrity hashes of both files are rewritten. Run on release builds by Trunk's post-build hook (`post-build.mjs`).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const integrity = (data) => "sha384-" + createHash("sha384").update(data).digest("base64");
const hashed = /_[0-9a-f]{16}$/;

/** Renames the hashed imports of DIR's wasm from its glue, in the wasm and the glue, and fixes index.html. */
export function shortenImports(dir) {
  const names = readdirSync(dir);
  const wasmName = names.find((n) => n.endsWith("_bg.wasm"));
  const glueName = wasmName && wasmName.replace(/_bg\.wasm$/, ".js");
  if (!wasmName || !names.includes(glueName)) {
    throw new Error(`${dir}: no <name>_bg.wasm with its <name>.js glue`);
  }
  const wasmPath = join(dir, wasmName);
  const gluePath = join(dir, glueName);
  const indexPath = join(dir, "index.html");
  const wasm = readFileSync(wasmPath);
  let glue = readFileSync(gluePath, "utf8");
  const renamed = new Map();
  const shorter = rewriteImports(wasm, (module, field) => {
    if (!module.endsWith("_bg.js") || !hashed.test(field)) return field;
    const short = `w${renamed.size.toString(36)}`;
    renamed.set(field, short);
    return short;
  });
  for (const [long, short] of renamed) {
    const count = glue.split(long).length - 1;
    if (count !== 1) throw new Error(`${gluePath} names the import ${long} ${count} times (expected 1)`);
    glue = glue.replace(long, short);
  }
  let index = readFileSync(indexPath, "utf8");
  for (const [before, after] of [
    [integrity(wasm), integrity(shorter)],
    [integrity(readFileSync(gluePath)), integrity(glue)],
  ]) {
    const count = index.split(before).length - 1;
    if (count !== 1) throw new Error(`${indexPath} names an integrity hash ${count} times (expected 1)`);
    index = index.replace(before, after);
  }
  writeFileSync(wasmPath, shorter);
  writeFileSync(gluePath, glue);
  writeFileSync(indexPath, index);
}

/** A copy of the wasm module `bytes` whose import section names each import `rename(module, field)`. */
export function rewriteImports(bytes, rename) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error("not a wasm module");
  const out = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + size;
    if (id !== 2) {
      out.push(bytes.subarray(at, end));
    } else {
      const body = importSection(bytes.subarray(start, end), rename);
      out.push(Buffer.from([2]), leb(body.length), body);
    }
    at = end;
  }
  return Buffer.concat(out);
}

function importSection(section, rename) {
  const out = [];
  let [count, at] = readLeb(section, 0);
  out.push(leb(count));
  for (let i = 0; i < count; i++) {
    let module, field;
    [module, at] = readName(section, at);
    [field, at] = readName(section, at);
    const descStart = at;
    at = skipImportDesc(section, at);
    out.push(name(module), name(rename(module, field)), section.subarray(descStart, at));
  }
  if (at !== section.length) throw new Error("import section: trailing bytes");
  return Buffer.concat(out);
}

function skipImportDesc(b, at) {
  const kind = b[at++];
  const limits = (at) => {
    const flags = b[at++];
    at = readLeb(b, at)[1];
    return flags & 1 ? readLeb(b, at)[1] : at;
  };
  switch (kind) {
    case 0: // function: type index
      return readLeb(b, at)[1];
    case 1: // table: reference type, limits
      return limits(at + 1);
    case 2: // memory: limits
      return limits(at);
    case 3: // global: value type, mutability
      return at + 2;
    case 4: // tag: attribute, type index
      return readLeb(b, at + 1)[1];
    default:
      throw new Error(`import section: unknown import kind ${kind}`);
  }
}

function readLeb(b, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const byte = b[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if (byte < 0x80) return [value, at];
  }
}

function leb(value) {
  const out = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return Buffer.from(out);
}

function readName(b, at) {
  const [length, start] = readLeb(b, at);
  return [b.subarray(start, start + length).toString("utf8"), start + length];
}

function name(text) {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([leb(bytes.length), bytes]);
}
