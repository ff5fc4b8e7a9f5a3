// `node --test dev/toolchain/` (scripts/test): the renaming keeps a module valid and renames only what it is told.
import assert from "node:assert/strict";
import { test } from "node:test";
import { rewriteNames } from "./short-names.mjs";

const name = (text) => [text.length, ...Buffer.from(text)];
// (module (type (func)) (import "./x_bg.js" "__wbg_now_0123456789abcdef" (func (type 0)))
//         (import "./x_bg.js" "__wbindgen_init_externref_table" (func (type 0)))
//         (import "env" "memory" (memory 1 2)) (import "env" "g_0123456789abcdef" (global i32))
//         (export "invoke_h0123456789abcdef" (func 0)) (export "memory" (memory 0)))
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
  7, 1 + 25 + 2 + 7 + 2, 2, ...name("invoke_h0123456789abcdef"), 0, 0, ...name("memory"), 2, 0,
]);
const hashed = (field) => /_h?[0-9a-f]{16}$/.test(field);

test("the hashed imports of the glue and the hashed exports get the new names, the rest keep theirs", () => {
  const renamed = rewriteNames(module, {
    imports: (from, field) => (from.endsWith("_bg.js") && hashed(field) ? "w0" : field),
    exports: (field) => (hashed(field) ? "x0" : field),
  });
  assert.ok(WebAssembly.validate(renamed));
  assert.deepEqual(
    WebAssembly.Module.exports(new WebAssembly.Module(renamed)).map((e) => `${e.name} ${e.kind}`),
    ["x0 function", "memory memory"],
  );
  assert.deepEqual(
    WebAssembly.Module.imports(new WebAssembly.Module(renamed)).map((i) => `${i.module} ${i.name} ${i.kind}`),
    [
      "./x_bg.js w0 function",
      "./x_bg.js __wbindgen_init_externref_table function",
      "env memory memory",
      "env g_0123456789abcdef global",
    ],
  );
  const removed = "__wbg_now_0123456789abcdef".length + "invoke_h0123456789abcdef".length;
  assert.equal(renamed.length, module.length - removed + 4);
});

test("an unchanged rename gives the same bytes", () => {
  assert.deepEqual(rewriteNames(module, { imports: (_, field) => field, exports: (field) => field }), module);
});
