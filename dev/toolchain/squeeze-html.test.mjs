// `node --test dev/toolchain/` (scripts/test): the squeezed page keeps its text and its style rules, in order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { squeeze } from "./squeeze-html.mjs";

const page = `<!doctype html>
<html>
  <head>
    <!-- a note for developers -->
    <style>
      :root { --card: #ffffff; }
      .a, .b { padding: 0.5rem 1rem; background: transparent; }
      .status[data-state="active"]::before { content: ""; box-shadow: 0 2px 12px rgb(0 0 0 / 6%); }
      @media (max-width: 40rem) { .a { padding: 1rem; } }
      .a { color: red; }
    </style>
  </head>
  <body>
    <p>Two
      lines</p>
  </body>
</html>
`;

test("comments and indentation go; the style is minified with its rules in their order", () => {
  assert.equal(
    squeeze(page),
    `<!doctype html>
<html>
<head>
<style>:root{--card:#ffffff}.a,.b{padding:.5rem 1rem;background:0 0}` +
      `.status[data-state=active]::before{content:"";box-shadow:0 2px 12px rgb(0 0 0/6%)}` +
      `@media (max-width:40rem){.a{padding:1rem}}.a{color:red}</style>
</head>
<body>
<p>Two
lines</p>
</body>
</html>
`,
  );
});

test("a page with a <pre> is refused", () => {
  assert.throws(() => squeeze("<pre>\n  x\n</pre>"), /<pre> or <textarea>/);
});
