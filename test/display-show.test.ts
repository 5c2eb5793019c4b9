// show(): text summary outside a kernel; one display_data with Plotly JSON + offline HTML inside a
// (simulated) tslab kernel, plotly.js embedded only in the first chart; figureHtml options.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import Module from "node:module";
import { figureHtml, figureSummary, inNotebook, PLOTLY_MIME, show, showHtml, type MimeBundle } from "../lib/src/display";
import { learningCurves } from "../lib/src/plots/index";

const fig = learningCurves({ loss: [1, 0.5], val_loss: [1.2, 0.8], acc: [0.5, 0.7], val_acc: [0.45, 0.6] }, { title: "curves </script> & co" });
const plotlyFile = require.resolve("plotly.js-dist-min/plotly.min.js");
const plotlySize = fs.statSync(plotlyFile).size;

function captureLog(fn: () => void): string[] {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    fn();
  } finally {
    console.log = orig;
  }
  return lines;
}

test("outside a kernel, show prints a one-line summary with title and traces", () => {
  assert.equal(inNotebook(), false);
  const out = captureLog(() => show(fig));
  assert.equal(out.length, 1);
  assert.match(out[0], /curves <\/script> & co: 4 scatter/);
  assert.equal(out[0], figureSummary(fig));
  assert.throws(() => show({} as never), /expected a Plotly figure/);
});

test("figureHtml: div + newPlot script; plotly.js only when asked; script-safe JSON", () => {
  const small = figureHtml(fig, { divId: "d1" });
  assert.match(small, /<div id="d1" class="fmnist-plot"/);
  assert.match(small, /window\.Plotly\.newPlot\(gd, fig\.data, fig\.layout/);
  assert.ok(!small.includes("plotly.js v"), "no library without includePlotlyJs");
  // The title's "</script>" must not close the script early.
  assert.equal(small.split("</script>").length - 1, 1);
  assert.ok(small.length < 10_000);
  const big = figureHtml(fig, { divId: "d2", includePlotlyJs: true });
  assert.ok(big.includes("plotly.js v4."));
  assert.ok(big.includes("if (!window.Plotly)"));
  assert.ok(big.length > plotlySize && big.length < plotlySize + 10_000);
  assert.ok(!/https?:\/\/cdn/i.test(small));
});

test("inside a (simulated) tslab kernel: one bundle per show, plotly.js in the first only", () => {
  const sent: MimeBundle[] = [];
  const fake = path.join(path.dirname(plotlyFile), "..", "tslab-fake", "tslab", "dist", "jupyter.js");
  const m = new Module(fake);
  m.exports = { lastWriteDisplayData: (d: { data: MimeBundle }) => void sent.push(d.data) };
  m.loaded = true;
  require.cache[fake] = m;
  try {
    assert.equal(inNotebook(), true);
    const logged = captureLog(() => {
      show(fig);
      show(fig);
      showHtml("<b>hi</b>");
    });
    assert.deepEqual(logged, []);
    assert.equal(sent.length, 3);
    const [first, second, html] = sent;
    assert.deepEqual(Object.keys(first).sort(), [PLOTLY_MIME, "text/html", "text/plain"].sort());
    assert.deepEqual(first[PLOTLY_MIME], JSON.parse(JSON.stringify(fig)));
    const h1 = first["text/html"] as string;
    const h2 = second["text/html"] as string;
    assert.ok(h1.length > plotlySize, "first chart carries plotly.js");
    assert.ok(h2.length < 10_000, "later charts only the div and newPlot call");
    assert.equal(html["text/plain"], "hi");
    // Notebook size cost per chart, as stored (JSON-escaped) in the .ipynb.
    const cost = (b: MimeBundle) => JSON.stringify(b).length;
    console.log(`# size per chart (learning curves): first ${(cost(first) / 1e6).toFixed(2)} MB, later ${(cost(second) / 1e3).toFixed(1)} kB`);
  } finally {
    delete require.cache[fake];
  }
  assert.equal(inNotebook(), false);
});
