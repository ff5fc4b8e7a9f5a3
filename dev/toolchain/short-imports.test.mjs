// `node --test dev/toolchain/` (scripts/test): the import renaming keeps a module valid and renames only the
// glue's hashed imports.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rewriteImports } from "./short-imports.mjs";

const name = (text) => [text.length, ...Buffer.from(text)];
// (module (type (func)) (import "./x_bg.js" "__wbg_now_0123456789abcdef" (func (type 0)))
//         (import "./x_bg.js" "__wbindgen_init_externref_table" (func (type 0)))
//         (import "env" "memory" (memory 1 2)) (import "env" "g_0123456789abcdef" (global i32)))
const imports = [
  4,
  ...name("./x_bg.js"), ...name("__wbg_now_0123456789abcdef"), 0, 0,
  ...name("./x_bg.js"), ...name("__wbindgen_init_externref_table"), 0, 0,
  ...name("env"), ...name("memory"), 2, 1, 1, 2,
  ...name("env"), ...name("g_0123456789abcdef"), 3, 0x7f, 0,
];
const module = Buffer.from([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  1, 4, 1, 0x60, 0, 0, // type section: one func type () -> ()
  2, imports.length, ...imports,
]);

test("the hashed imports of the glue get the new names, the rest keep theirs", () => {
  const renamed = rewriteImports(module, (from, field) =>
    from.endsWith("_bg.js") && /_[0-9a-f]{16}$/.test(field) ? "w0" : field,
  );
  assert.ok(WebAssembly.validate(renamed));
  assert.deepEqual(
    WebAssembly.Module.imports(new WebAssembly.Module(renamed)).map((i) => `${i.module} ${i.name} ${i.kind}`),
    [
      "./x_bg.js w0 function",
      "./x_bg.js __wbindgen_init_externref_table function",
      "env memory memory",
      "env g_0123456789abcdef global",
    ],
  );
  assert.equal(renamed.length, module.length - "__wbg_now_0123456789abcdef".length + 2);
});

test("an unchanged rename gives the same bytes", () => {
  assert.deepEqual(rewriteImports(module, (_, field) => field), module);
});
