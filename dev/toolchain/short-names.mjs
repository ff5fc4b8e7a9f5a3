// Gives the wasm's imports from its JS glue, and its exports whose names end in a hash, short names (`w0`, `w1`, …;
// `x0`, …) in both files. wasm-bindgen names each import after its function plus a 16-hex hash
// (`__wbg_fetch_4c88d8bf264fd984`), once in the wasm's import section and once as a key of the glue's import object,
// and each closure's entry point after its symbol hash (`…_h0123456789abcdef`) or, with the standard library that
// scripts/build-spa compiles, after its Rust path with the crates' hashes (`wasm_bindgen_4103ee816b20e416___convert_
// _closures_____invoke…`, up to 300 characters): 121 imports and 5 exports whose hashes gzip cannot compress, 3.8 KB of
// the SPA's gzip total (BENCHMARKS.md section 1). The glue's module name (`./<name>_bg.js`, once per import) stays: a
// one-letter name measured 158 B gzip larger, the long name being one cheap repeat. The names mean nothing to a
// browser, which only matches the two spellings. Every renamed import must occur exactly once in the glue and every
// renamed export at least once, as a whole name, or the build stops; index.html's integrity hashes of both files are
// rewritten. Run on release builds by Trunk's post-build hook (`post-build.mjs`).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rehash } from "./integrity.mjs";

const hashedImport = /_[0-9a-f]{16}$/;
const hashedExport = /_h[0-9a-f]{16}(_[0-9]+)?$|^wasm_bindgen_[0-9a-f]{16}___/;
// A whole name in the glue: not part of a longer identifier (`…_h0123…` is not `…_h0123…_3`).
const token = (name) => new RegExp(`(?<![\\w$])${name}(?![\\w$])`, "g");

/** Renames DIR's wasm's hashed imports from its glue and hashed exports, in the wasm and the glue; fixes index.html. */
export function shortenNames(dir) {
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
  const originalGlue = readFileSync(gluePath);
  let glue = originalGlue.toString("utf8");
  const imports = new Map();
  const exports = new Map();
  const shorter = rewriteNames(wasm, {
    imports: (module, field) => {
      if (!module.endsWith("_bg.js") || !hashedImport.test(field)) return field;
      imports.set(field, `w${imports.size.toString(36)}`);
      return imports.get(field);
    },
    exports: (name) => {
      if (!hashedExport.test(name)) return name;
      exports.set(name, `x${exports.size.toString(36)}`);
      return exports.get(name);
    },
  });
  for (const [renamed, expected] of [
    [imports, (count) => count === 1],
    [exports, (count) => count >= 1],
  ]) {
    for (const [long, short] of renamed) {
      const count = (glue.match(token(long)) ?? []).length;
      if (!expected(count)) throw new Error(`${gluePath} names ${long} ${count} times`);
      glue = glue.replace(token(long), short);
    }
  }
  let index = readFileSync(indexPath, "utf8");
  index = rehash(index, wasm, shorter, 1, wasmPath);
  index = rehash(index, originalGlue, glue, 1, gluePath);
  writeFileSync(wasmPath, shorter);
  writeFileSync(gluePath, glue);
  writeFileSync(indexPath, index);
}

/**
 * A copy of the wasm module `bytes` whose import section names each import `rename.imports(module, field)` and whose
 * export section names each export `rename.exports(name)`.
 */
export function rewriteNames(bytes, rename) {
  if (bytes.readUInt32LE(0) !== 0x6d736100) throw new Error("not a wasm module");
  const out = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readLeb(bytes, at + 1);
    const end = start + size;
    if (id === 2 || id === 7) {
      const section = bytes.subarray(start, end);
      const body = id === 2 ? importSection(section, rename.imports) : exportSection(section, rename.exports);
      out.push(Buffer.from([id]), leb(body.length), body);
    } else {
      out.push(bytes.subarray(at, end));
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

function exportSection(section, rename) {
  const out = [];
  let [count, at] = readLeb(section, 0);
  out.push(leb(count));
  for (let i = 0; i < count; i++) {
    let field;
    [field, at] = readName(section, at);
    const descStart = at;
    at = readLeb(section, at + 1)[1]; // kind, then index
    out.push(name(rename(field)), section.subarray(descStart, at));
  }
  if (at !== section.length) throw new Error("export section: trailing bytes");
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
