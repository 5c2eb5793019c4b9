// Tables: rows, arquero tables and danfo-shaped frames/series → HTML and aligned text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatCell, gridHtml, gridText, showTable, table, toTextGrid } from "../lib/src/tables";

test("rows → grid with union of keys, numeric columns detected, limit", () => {
  const g = toTextGrid([{ model: "a", acc: 0.91234567 }, { model: "b<x>", acc: 1, extra: "y" }], { limit: 1 });
  assert.deepEqual(g.columns, ["model", "acc", "extra"]);
  assert.deepEqual(g.rows, [["a", "0.9123", ""]]);
  assert.deepEqual(g.numeric, [false, true, true]);
  assert.equal(g.omitted, 1);
  const html = gridHtml(toTextGrid([{ model: "b<x>", acc: 1 }]));
  assert.match(html, /<th style="text-align: right;">acc<\/th>/);
  assert.match(html, /b&lt;x&gt;/);
});

test("arquero table from rows renders with its columns", () => {
  const t = table([{ k: "x", n: 3 }, { k: "yy", n: 12 }]);
  assert.equal(t.numRows(), 2);
  const text = gridText(toTextGrid(t));
  assert.equal(text, ["k    n", "--  --", "x    3", "yy  12"].join("\n"));
});

test("danfo-shaped DataFrame and Series get an index column", () => {
  const frame = { columns: ["mean"], index: ["count", "std"], values: [[10], [2.5]], shape: [2, 1] };
  assert.deepEqual(toTextGrid(frame).rows, [["count", "10"], ["std", "2.5"]]);
  const series = { index: ["a", "b"], values: [1, 2] };
  assert.deepEqual(toTextGrid(series).columns, ["", "value"]);
  assert.throws(() => toTextGrid(42 as never), /expected rows/);
});

test("formatCell and showTable text output outside a kernel", () => {
  assert.equal(formatCell(0.00001234), "1.234e-5");
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(12), "12");
  const lines: string[] = [];
  const orig = console.log;
  console.log = (s: string) => void lines.push(s);
  try {
    showTable([{ a: 1 }], { caption: "cap" });
  } finally {
    console.log = orig;
  }
  assert.equal(lines[0], "cap\na\n-\n1");
});

test("rows typed by an interface (no index signature) are accepted", () => {
  interface Summary { layer: string; params: number }
  const rows: Summary[] = [{ layer: "dense", params: 1290 }];
  assert.deepEqual(toTextGrid(rows).rows, [["dense", "1290"]]);
  assert.equal(table(rows).numRows(), 1);
});
