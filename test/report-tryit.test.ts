// The report's try-it page (issue 21). A tiny `best` (8 filters, trained for two epochs on 3,000 images
// in this test) is saved to a temporary artifacts folder, the report is built with its try-it page, and the
// page is opened from file:// in headless Chromium, offline: 20 test images clicked in the gallery give
// Node's probabilities within 1e-4; a trouser drawn with mouse events gives a prediction and a saliency map;
// a test image uploaded as a PNG gets its original's class; no console errors, no network requests.
// REPORT_TRYIT_ARTIFACTS=<artifacts folder of a quick run of 02, 10 and 11> runs the same checks on the
// real saved model (executed/quick, results, models/best) instead; the screenshot after drawing a trouser
// goes to artifacts/screenshots/report/tryit-trouser.png either way.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { chromiumSkip, launchOffline, type OfflineBrowser } from "./helpers/chromium";
import { buildReportWithTryIt } from "../scripts/report";
import { TRYIT_MAX_BYTES } from "../scripts/report/tryit";
import { initBackend } from "../lib/src/backend/select";
import { buildModel } from "../lib/src/models";
import { loadModel, saveModel } from "../lib/src/persist";
import { loadFashionMnist } from "../lib/src/data/fashion-mnist";
import { balancedSubset } from "../lib/src/data/split";
import { toTensors } from "../lib/src/data/tensors";
import { encodeGreyPng } from "../lib/src/plots/png";
import { predictProbabilities } from "../lib/src/predict";
import type { Config } from "../lib/src/config";

const FIX = path.join(__dirname, "fixtures", "report");
const SCREENSHOTS = path.join(__dirname, "..", "artifacts", "screenshots", "report");
const REAL = process.env.REPORT_TRYIT_ARTIFACTS;

/** What the page exposes as window.fmnistTryIt (the project compiles without the DOM lib: typed loosely). */
interface TryItApi {
  ready: Promise<void>;
  backend: string | null;
  error: string | null;
  last: { source: string; probs: number[]; saliency: number[]; input: number[]; testIndex?: number; top3: Array<{ cls: number; name: string; p: number }> } | null;
}
const api = (): TryItApi => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt;

function copyDir(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(to, f));
}

/** A run with a tiny trained `best`: the fixture notebooks plus a stand-in 11-evaluation and its results file. */
async function tinyRun(tmp: string): Promise<{ artifacts: string; inDir: string; resultsDir: string }> {
  const artifacts = path.join(tmp, "artifacts");
  const backend = await initBackend("wasm");
  const model = buildModel("best", { filters: 8, seed: 7 });
  const train = loadFashionMnist("train");
  const all = Array.from({ length: train.count }, (_, i) => i);
  const { xs, ys } = toTensors(train, balancedSubset(train.labels, all, 3000, 7));
  const yf = ys.toFloat();
  await model.fit(xs, yf, { epochs: 2, batchSize: 64, shuffle: true, verbose: 0 });
  tf.dispose([xs, ys, yf]);
  const config = { profile: "quick", seed: 42, testSize: 1000 } as unknown as Config;
  await saveModel(model, "best", artifacts, { config, splitId: "tiny-test-split", backend, training: { epochs: 2, batchSize: 64 } });
  model.dispose();
  const inDir = path.join(artifacts, "executed", "quick");
  copyDir(path.join(FIX, "executed"), inDir);
  fs.copyFileSync(path.join(FIX, "executed", "01-fixture-exploration.ipynb"), path.join(inDir, "11-evaluation.ipynb"));
  const resultsDir = path.join(artifacts, "results");
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.writeFileSync(path.join(resultsDir, "11-evaluation.json"), JSON.stringify({
    schema: 1, notebook: "11-evaluation", profile: "quick", createdAt: new Date(Date.now() + 1000).toISOString(), durationSec: 1,
    backend, config, metrics: { "evaluation.test_acc": 0.5 },
  }));
  return { artifacts, inDir, resultsDir };
}

/** A trouser outline, in the drawing canvas's 280×280 coordinates: waistband, two legs, filled. */
const TROUSER: Array<Array<[number, number]>> = [
  [[95, 28], [185, 28]],
  [[95, 45], [185, 45]],
  [[95, 62], [185, 62]],
  [[95, 28], [84, 255]],
  [[112, 40], [102, 255]],
  [[130, 70], [121, 255]],
  [[185, 28], [196, 255]],
  [[168, 40], [178, 255]],
  [[150, 70], [159, 255]],
]

test("try-it page from file://: 20 gallery images equal Node's probabilities, a drawn trouser and an uploaded PNG are classified, offline, no errors", { skip: chromiumSkip(), timeout: 600_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "report-tryit-"));
  let browser: OfflineBrowser | undefined;
  try {
    const t0 = Date.now();
    const run = REAL
      ? { artifacts: REAL, inDir: path.join(REAL, "executed", "quick"), resultsDir: path.join(REAL, "results") }
      : await tinyRun(tmp);
    const t1 = Date.now();
    const outDir = path.join(tmp, "report");
    const built = await buildReportWithTryIt({ inDir: run.inDir, resultsDir: run.resultsDir, outDir }, run.artifacts, { backend: "wasm" });
    const t2 = Date.now();
    assert.ok(built.tryIt && built.tryIt.pageWeightBytes !== undefined, `a try-it page with a model: ${JSON.stringify(built.tryIt)}`);
    const weight = built.tryIt.pageWeightBytes;
    assert.ok(weight <= TRYIT_MAX_BYTES, `page weight ${(weight / 1048576).toFixed(2)} MB > 10 MB`);
    const index = fs.readFileSync(path.join(outDir, "index.html"), "utf8");
    assert.match(index, /<a href="tryit\.html">Try the best model/);
    assert.match(fs.readFileSync(path.join(outDir, "11-evaluation.html"), "utf8"), /<a href="tryit\.html">Try this model in your browser/);
    const html = fs.readFileSync(path.join(outDir, "tryit.html"), "utf8");
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, "nothing loaded from another host");
    assert.equal((html.match(/plotly\.min\.js/g) ?? []).length, 1, "the shared plotly.js, once");

    browser = await launchOffline();
    const page = await browser.newPage("tryit.html");
    page.setDefaultTimeout(120_000); // the 2-core machine is shared: generous, a hang still fails
    await page.goto(pathToFileURL(path.join(outDir, "tryit.html")).href, { waitUntil: "load" });
    await page.waitForFunction(() => {
      const a = (globalThis as unknown as { fmnistTryIt?: { last: unknown; error: unknown } }).fmnistTryIt;
      return a !== undefined && (a.last !== null || a.error !== null);
    }, undefined, { timeout: 120_000 });
    const started = await page.evaluate(() => {
      const a = (globalThis as unknown as { fmnistTryIt: { backend: string | null; error: string | null } }).fmnistTryIt;
      return { backend: a.backend, error: a.error };
    });
    assert.equal(started.error, null, `page error: ${started.error}`);
    const backendLine = await page.locator("#backend").innerText();
    console.log(`# try-it page backend from file://: ${started.backend} (${backendLine})`);

    // 20 gallery images, spread over the gallery (classes and mistakes), clicked one by one.
    const thumbs = page.locator("#gallery canvas");
    const count = await thumbs.count();
    assert.ok(count >= 20, `gallery has ${count} images`);
    const picks = Array.from({ length: 20 }, (_, i) => Math.floor((i * count) / 20));
    const pageProbs: number[][] = [];
    const indices: number[] = [];
    for (const k of picks) {
      await thumbs.nth(k).click();
      const last = await page.evaluate(() => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt.last);
      assert.ok(last && last.source === "gallery" && typeof last.testIndex === "number");
      assert.equal(String(last.testIndex), await thumbs.nth(k).getAttribute("data-test-index"));
      indices.push(last.testIndex);
      pageProbs.push(last.probs);
    }
    const { model } = await loadModel("best", run.artifacts);
    const testSet = loadFashionMnist("test");
    const node = await predictProbabilities(model, testSet, indices);
    model.dispose();
    let maxDiff = 0;
    const nodeClass: number[] = [];
    indices.forEach((_, i) => {
      const row = Array.from(node.subarray(i * 10, i * 10 + 10));
      nodeClass.push(row.indexOf(Math.max(...row)));
      assert.equal(pageProbs[i].indexOf(Math.max(...pageProbs[i])), nodeClass[i], `test image #${indices[i]}: predicted class`);
      row.forEach((v, c) => (maxDiff = Math.max(maxDiff, Math.abs(v - pageProbs[i][c]))));
    });
    console.log(`# max |page − Node| probability over 20 test images: ${maxDiff.toExponential(2)}`);
    assert.ok(maxDiff <= 1e-4, `probabilities differ from Node's by ${maxDiff}`);

    // A trouser drawn with mouse events: prediction and saliency map, live.
    await page.locator("#draw").scrollIntoViewIfNeeded();
    const box = await page.locator("#draw").boundingBox(); // viewport coordinates, as page.mouse takes them
    assert.ok(box);
    const at = (p: [number, number]): [number, number] => [box.x + (p[0] * box.width) / 280, box.y + (p[1] * box.height) / 280];
    for (const [a, b] of TROUSER) {
      await page.mouse.move(...at(a));
      await page.mouse.down();
      for (let s = 1; s <= 8; s++) await page.mouse.move(...at([a[0] + ((b[0] - a[0]) * s) / 8, a[1] + ((b[1] - a[1]) * s) / 8]));
      await page.mouse.up();
    }
    await page.waitForFunction(() => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt.last?.source === "draw").catch((e: Error) => {
      throw new Error(`${e.message}; page errors: ${JSON.stringify(browser?.errors)}`);
    });
    await page.waitForTimeout(300); // the last animation frame's update
    const drawn = await page.evaluate(() => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt.last);
    assert.ok(drawn);
    assert.equal(drawn.probs.length, 10);
    assert.ok(Math.abs(drawn.probs.reduce((s, v) => s + v, 0) - 1) < 1e-4, "probabilities sum to 1");
    assert.equal(drawn.saliency.length, 784);
    assert.ok(drawn.saliency.every(Number.isFinite) && Math.max(...drawn.saliency) > 0.99, "a saliency map, scaled to max 1");
    assert.ok(drawn.input.filter((v) => v > 0.5).length > 50, "the drawing reached the model input");
    console.log(`# drawn trouser → ${drawn.top3.map((t) => `${t.name} ${(100 * t.p).toFixed(1)}%`).join(", ")}`);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "tryit-trouser.png"), fullPage: true });

    // A test image uploaded as a PNG: the class Node gives the original (the most confident correct one of the 20).
    const correct = indices.map((j, i) => ({ j, i, p: Math.max(...Array.from(node.subarray(i * 10, i * 10 + 10))) })).filter((x) => nodeClass[x.i] === testSet.labels[x.j]);
    assert.ok(correct.length > 0, "some of the 20 images are classified correctly");
    const chosen = correct.sort((a, b) => b.p - a.p)[0];
    const png = path.join(tmp, `test-${chosen.j}.png`);
    fs.writeFileSync(png, encodeGreyPng(testSet.images.subarray(chosen.j * 784, (chosen.j + 1) * 784), 28, 28));
    await page.setInputFiles("#upload", png);
    await page.waitForFunction(() => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt.last?.source === "upload");
    const uploaded = await page.evaluate(() => (globalThis as unknown as { fmnistTryIt: TryItApi }).fmnistTryIt.last);
    assert.ok(uploaded);
    assert.equal(uploaded.top3[0].cls, nodeClass[chosen.i], `uploaded test image #${chosen.j}: same class as the original`);

    assert.deepEqual(browser.errors, [], "console errors");
    assert.deepEqual(browser.remote, [], "requests leaving the machine");
    console.log(`# model ${REAL ? "from " + REAL : "tiny, trained"} in ${((t1 - t0) / 1000).toFixed(1)} s; report built in ${((t2 - t1) / 1000).toFixed(1)} s; page weight ${(weight / 1048576).toFixed(2)} MB; browser checks ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  } finally {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("try-it page: a clear note instead when the run has no saved best model, or one from another profile", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "report-tryit-note-"));
  try {
    const outDir = path.join(tmp, "report");
    const opts = { inDir: path.join(FIX, "executed"), resultsDir: path.join(FIX, "results"), outDir };
    const none = await buildReportWithTryIt(opts, path.join(tmp, "artifacts"));
    assert.match(none.tryIt?.note ?? "", /No saved "best" model in .*models: run notebooks 10-tuning and 11-evaluation/);
    assert.match(fs.readFileSync(path.join(outDir, "tryit.html"), "utf8"), /id="tryit-note"><strong>No model to try in this report/);
    assert.match(fs.readFileSync(path.join(outDir, "index.html"), "utf8"), /id="tryit-link">No model to try in this report: No saved/);
    assert.ok(!fs.existsSync(path.join(outDir, "assets", "tf.min.js")), "no tfjs copied without a model");

    // A best saved by a full-profile run does not belong in a quick report.
    const dir = path.join(tmp, "artifacts", "models", "best");
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "meta.json"), JSON.stringify({ schema: 1, name: "best", createdAt: "2026-01-01T00:00:00.000Z", params: 1, versions: {}, config: { profile: "full" } }));
    const other = await buildReportWithTryIt(opts, path.join(tmp, "artifacts"));
    assert.match(other.tryIt?.note ?? "", /trained under the full profile, and this report is of a quick run/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
