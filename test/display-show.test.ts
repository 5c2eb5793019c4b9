// show(): text summary outside a kernel; one display_data with Plotly JSON + HTML (static SVG image,
// draw script, plotly.js loader) inside a (simulated) tslab kernel, every chart on its own; figureHtml options.
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

test("figureHtml: static SVG image + draw script + loader; plotly.js only when asked; script-safe JSON", () => {
  const small = figureHtml(fig, { divId: "d1", plotlyFrom: { abs: "/srv/x/node_modules/p/plotly.min.js", rel: "../node_modules/p/plotly.min.js", home: "/home/u" } });
  assert.match(small, /<div id="d1" class="fmnist-plot"/);
  assert.match(small, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="curves &lt;\/script&gt; &amp; co \(static image/);
  assert.match(small, /P\.newPlot\(gd, fig\.data, layout/);
  assert.match(small, /window\.fmnistPlotly = \(function \(src\)/, "one loader promise per page");
  assert.ok(small.includes('"rel":"../node_modules/p/plotly.min.js"'));
  assert.ok(!small.includes("plotly.js v"), "no library without includePlotlyJs");
  // The title's "</script>" must not close the script early.
  assert.equal(small.split("</script>").length - 1, 1);
  assert.ok(small.length < 30_000);
  const noFetch = figureHtml(fig, { divId: "d3", plotlyFrom: null, staticImage: false });
  assert.ok(!noFetch.includes("fmnistPlotly") && !noFetch.includes("<img"));
  assert.match(noFetch, /trust the notebook or re-run it/);
  const big = figureHtml(fig, { divId: "d2", includePlotlyJs: true });
  assert.ok(big.includes("plotly.js v4."));
  assert.ok(big.includes("if (!window.Plotly)"));
  assert.ok(big.length > plotlySize && big.length < plotlySize + 40_000);
  assert.ok(!/https?:\/\/cdn/i.test(small));
});

test("inside a (simulated) tslab kernel: one small, self-sufficient bundle per show; plotly.js never inside", () => {
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
    for (const h of [h1, h2]) {
      assert.ok(h.length < 30_000, "no chart carries plotly.js");
      assert.ok(h.includes("<img src=\"data:image/svg+xml;base64,"), "every chart carries its static image");
      assert.ok(h.includes("window.fmnistPlotly"), "every chart can load plotly.js itself");
    }
    // The location is the installed file, relative to the kernel's folder (the notebook's).
    const rel = path.relative(process.cwd(), fs.realpathSync(plotlyFile)).split(path.sep).join("/");
    assert.ok(h1.includes(JSON.stringify(rel)), rel);
    assert.equal(html["text/plain"], "hi");
    // Notebook size cost per chart, as stored (JSON-escaped) in the .ipynb.
    const cost = (b: MimeBundle) => JSON.stringify(b).length;
    console.log(`# size per chart (learning curves): ${(cost(first) / 1e3).toFixed(1)} kB`);
  } finally {
    delete require.cache[fake];
  }
  assert.equal(inNotebook(), false);
});
