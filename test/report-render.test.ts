// Rendering of each notebook output type, the index tables, and the atomic report build, from the fixtures in test/fixtures/report.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseNotebook, renderNotebook, renderOutput, renderMarkdown, renderCode, joinText, type Notebook } from "../scripts/report/render-notebook";
import { collectModels, renderIndex, referenceTableHtml } from "../scripts/report/render-index";
import type { ResultsFile } from "../lib/src/results";
import { ChartIds } from "../scripts/report/page";
import { buildReport, parseArgs } from "../scripts/report";

const FIX = path.join(__dirname, "fixtures", "report");
const load = (name: string): Notebook => parseNotebook(fs.readFileSync(path.join(FIX, "executed", `${name}.ipynb`), "utf8"), name);
const nb1 = load("01-fixture-exploration");
const nb2 = load("02-fixture-failing");
const out = (nb: Notebook, cell: number, i = 0): string => renderOutput(nb.cells[cell].outputs![i], new ChartIds());

test("markdown cells are rendered by marked and sanitised", () => {
  const html = renderMarkdown(joinText(nb1.cells[0].source));
  assert.match(html, /<h1>Fixture exploration<\/h1>/);
  assert.match(html, /<em>one-line<\/em>/);
  assert.match(html, /<a href="https:\/\/example.org" rel="noopener noreferrer">link<\/a>/);
  assert.doesNotMatch(html, /script/i);
});

test("code is highlighted and escaped", () => {
  const html = renderCode(`const s = "<b>"; // note`);
  assert.match(html, /<span class="hljs-keyword">const<\/span>/);
  assert.match(html, /&lt;b&gt;/);
  assert.match(html, /hljs-comment/);
});

test("stdout is escaped; stderr is marked and loses ANSI codes", () => {
  assert.equal(out(nb1, 1, 0), `<pre class="stream stdout">rows &lt;b&gt; 60000\n</pre>`);
  assert.equal(out(nb1, 1, 1), `<pre class="stream stderr">warning: slow backend\n</pre>`);
});

test("a Plotly output becomes a chart with a JSON island; its HTML twin is skipped", () => {
  const html = out(nb1, 2);
  assert.match(html, /<div class="plotly-chart" data-figure="figure-1" data-traces="2"><\/div>/);
  assert.doesNotMatch(html, /__pwned=2/);
  const island = /<script type="application\/json" id="figure-1">(.*)<\/script>/s.exec(html);
  assert.ok(island);
  assert.ok(!island[1].includes("</"), "the island must not contain a closing tag");
  const fig = JSON.parse(island[1]) as { data: unknown[]; layout: { title: { text: string } } };
  assert.equal(fig.data.length, 2);
  assert.match(fig.layout.title.text, /<\/script>/); // the text survives as data, escaped in transit
});

test("an HTML table is kept, without handlers, javascript: links or remote images", () => {
  const html = out(nb1, 3);
  assert.match(html, /<table class="dataframe">/);
  assert.match(html, /<td>Shirt<\/td>/);
  assert.doesNotMatch(html, /onclick|onerror|javascript:|example\.org/);
});

test("a PNG output is kept as a data URL", () => {
  const html = out(nb1, 4);
  const m = /<img class="output-image" alt="output image" src="data:image\/png;base64,([A-Za-z0-9+/=]+)">/.exec(html);
  assert.ok(m);
  assert.deepEqual([...Buffer.from(m[1], "base64").subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});

test("text/plain results are escaped", () => {
  assert.equal(out(nb1, 5), `<pre class="stream text">2 &lt; 3 &amp;&amp; &quot;x&quot;</pre>`);
});

test("an error output is shown prominently and escaped", () => {
  const html = out(nb2, 3);
  assert.match(html, /^<div class="error"><strong>Error: boom &lt;img src=x onerror=alert\(1\)&gt;<\/strong>/);
  assert.match(html, /<pre>Error: boom\n    at &lt;anonymous&gt;:1:7<\/pre>/);
});

test("a failed notebook gets a failure banner and a mark on the failing cell", () => {
  const r = renderNotebook(nb2, "02-fixture-failing", { status: "failed", durationSec: 30.25, failure: { cell: 3, codeCell: 3, message: "Error: boom <script>" } });
  assert.equal(r.title, "Fixture failing model");
  assert.equal(r.charts, 1);
  assert.match(r.body, /^<div class="failed" id="run-status"><strong>This notebook FAILED \(failed\) at code cell 3 in 30\.3 s\.<\/strong><pre>Error: boom &lt;script&gt;<\/pre>/);
  assert.equal((r.body.match(/failed here/g) ?? []).length, 1);
});

test("collectModels merges models[] and flat metric keys per notebook", () => {
  const results = JSON.parse(fs.readFileSync(path.join(FIX, "results", "02-fixture-failing.json"), "utf8")) as ResultsFile;
  const rows = collectModels([results]);
  assert.deepEqual(rows, [
    { notebook: "02-fixture-failing", model: "cnn32", valAcc: 0.85, testAcc: 0.84, trainSec: 20.5 },
    { notebook: "02-fixture-failing", model: "dense_shallow", valAcc: 0.8, testAcc: 0.79, trainSec: 5.25 },
  ]);
  const ref = referenceTableHtml(rows, [results], [{ writeUp: "001", model: "shallow", ourModel: "dense_shallow", metric: "test_acc", value: 0.8866, source: "s" }]);
  assert.match(ref, /<td>0\.8866<\/td><td class="text">dense_shallow<\/td><td>0\.7900<\/td><td>-9\.66 pts<\/td>/);
  const idx = renderIndex({ results: [results], notebooks: [{ name: "02-fixture-failing", title: "t", href: "02-fixture-failing.html", status: "failed" }], profile: "quick" });
  assert.equal(idx.charts, 1);
  assert.match(idx.body, /1 notebook\(s\) failed/);
});

test("buildReport writes index, pages and assets, and replaces the output folder atomically", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "report-"));
  const outDir = path.join(tmp, "report");
  fs.mkdirSync(outDir);
  fs.writeFileSync(path.join(outDir, "stale.html"), "old");
  const r = buildReport({ inDir: path.join(FIX, "executed"), resultsDir: path.join(FIX, "results"), outDir });
  assert.deepEqual(r.pages.map((p) => p.file).sort(), ["01-fixture-exploration.html", "02-fixture-failing.html", "index.html"]);
  assert.deepEqual(fs.readdirSync(tmp), ["report"], "no temp folders left behind");
  assert.ok(!fs.existsSync(path.join(outDir, "stale.html")));
  assert.deepEqual(fs.readdirSync(path.join(outDir, "assets")).sort(), ["highlight.css", "plotly.min.js", "report.css", "report.js"]);
  const index = fs.readFileSync(path.join(outDir, "index.html"), "utf8");
  assert.doesNotMatch(index, /99-not-executed|ghost/, "results of notebooks not in the run are left out");
  assert.match(index, /2026-11-22 11:00 UTC/, "run date in words, not an ISO stamp");
  assert.equal(fs.statSync(outDir).mode & 0o777, 0o755, "the report folder is readable by others (not mkdtemp's 0700)");
  assert.match(index, /42\.5 s/);
  const page = fs.readFileSync(path.join(outDir, "01-fixture-exploration.html"), "utf8");
  assert.equal((page.match(/<script src="assets\/plotly\.min\.js"><\/script>/g) ?? []).length, 1);
  assert.doesNotMatch(page, /https?:\/\/(?!example\.org)/, "no remote URLs other than the fixture's own link");
  assert.match(page, /href="02-fixture-failing.html">→ /);
  // A failing build leaves the previous report untouched.
  assert.throws(() => buildReport({ inDir: path.join(tmp, "missing"), resultsDir: path.join(FIX, "results"), outDir }), /no executed notebooks/);
  assert.ok(fs.existsSync(path.join(outDir, "index.html")));
  fs.rmSync(tmp, { recursive: true, force: true });
});

test("parseArgs: --profile picks the executed folder and a per-profile output; --in/--results/--out/--artifacts override; bad flags rejected", () => {
  const o = parseArgs(["--in", "/a", "--results=/b", "--out", "/c"], {}, "/repo");
  assert.deepEqual(o, { inDir: "/a", resultsDir: "/b", outDir: "/c" });
  assert.deepEqual(parseArgs([], {}, "/repo"), { inDir: "/repo/artifacts/executed/quick", resultsDir: "/repo/artifacts/results", outDir: "/repo/artifacts/report" });
  const full = { inDir: "/repo/artifacts/executed/full", resultsDir: "/repo/artifacts/results", outDir: "/repo/artifacts/report/full" };
  assert.deepEqual(parseArgs([], { FMNIST_PROFILE: "full" }, "/repo"), full);
  assert.deepEqual(parseArgs(["--profile", "full"], {}, "/repo"), full);
  assert.deepEqual(parseArgs(["--profile=full", "--artifacts", "/x"], {}, "/repo"), { inDir: "/x/executed/full", resultsDir: "/x/results", outDir: "/x/report/full" });
  assert.throws(() => parseArgs(["--bogus"], {}, "/repo"), /unknown argument "--bogus"/);
  assert.throws(() => parseArgs(["--profile", "medium"], {}, "/repo"), /--profile must be quick or full, got "medium"/);
  assert.throws(() => parseArgs(["--out"], {}, "/repo"), /--out needs a value/);
});
