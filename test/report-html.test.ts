// The report's escaping and HTML sanitiser: scripts, event handlers, javascript: URLs and remote images never survive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeHtml } from "../lib/src/html";
import { jsonIsland, sanitizeHtml, stripAnsi } from "../scripts/report/html";

test("escapeHtml escapes the five special characters", () => {
  assert.equal(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
});

test("jsonIsland cannot close its script element and round-trips", () => {
  const v = { t: "</script><script>alert(1)</script>", u: "\u2028" };
  const s = jsonIsland(v);
  assert.ok(!s.includes("</"));
  assert.deepEqual(JSON.parse(s), v);
});

test("stripAnsi removes colour codes", () => {
  assert.equal(stripAnsi("\u001b[31mError\u001b[0m: x"), "Error: x");
});

test("sanitizeHtml keeps tables and their text", () => {
  const html = `<table class="dataframe"><thead><tr><th colspan="2">a</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>`;
  assert.equal(sanitizeHtml(html), html);
});

test("sanitizeHtml drops script and style elements with their content", () => {
  const out = sanitizeHtml(`<p>a</p><script>alert(1)</script><style>p{}</style><SCRIPT type="x">b()</SCRIPT><p>c</p>`);
  assert.equal(out, "<p>a</p><p>c</p>");
});

test("sanitizeHtml drops event handlers and style attributes", () => {
  const out = sanitizeHtml(`<td onclick="x()" ONMOUSEOVER='y()' style="background:url(http://e/x)" class="k">v</td>`);
  assert.equal(out, `<td class="k">v</td>`);
});

test("sanitizeHtml drops javascript: links, including obfuscated ones", () => {
  for (const href of ["javascript:alert(1)", " JaVaScRiPt:alert(1)", "java&#x09;script:alert(1)", "javascript&colon;alert(1)", "data:text/html,<script>", "vbscript:x"]) {
    const out = sanitizeHtml(`<a href="${href}">x</a>`);
    assert.ok(!/href/.test(out), `${href} -> ${out}`);
  }
  assert.equal(sanitizeHtml(`<a href="https://example.org/?a=1&amp;b=2">x</a>`), `<a href="https://example.org/?a=1&amp;b=2" rel="noopener noreferrer">x</a>`);
});

test("sanitizeHtml keeps inline images only", () => {
  assert.equal(sanitizeHtml(`<img src="http://example.org/x.png" onerror="x()">`), "<img>");
  assert.equal(sanitizeHtml(`<img src="data:image/png;base64,AAAA" alt="a">`), `<img src="data:image/png;base64,AAAA" alt="a">`);
  assert.equal(sanitizeHtml(`<img src="data:image/svg+xml;base64,AAAA">`), "<img>");
});

test("sanitizeHtml removes unknown tags but keeps their text, and escapes stray brackets", () => {
  assert.equal(sanitizeHtml(`<form action="x"><input value="1">hi</form> 1 < 2 > 0`), "hi 1 &lt; 2 &gt; 0");
  assert.equal(sanitizeHtml(`<iframe src="x"></iframe><svg><script>x</script></svg>ok`), "ok");
  assert.equal(sanitizeHtml(`<!-- <script>x</script> -->ok`), "ok");
});

test("sanitizeHtml closes unclosed tags and ignores unmatched closers", () => {
  assert.equal(sanitizeHtml(`<div><b>x`), "<div><b>x</b></div>");
  assert.equal(sanitizeHtml(`x</div></table>`), "x");
});

test("sanitizeHtml output does not change when sanitised again", () => {
  const nasty = `<div title="a&quot;b" onload=x><a href='https://e.org' target=_blank>l</a><img src=x onerror=alert(1)>< script>`;
  const once = sanitizeHtml(nasty);
  assert.equal(sanitizeHtml(once), once);
  assert.ok(!/on\w+=/i.test(once) && !/<script/i.test(once));
});
