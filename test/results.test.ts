// Results files: atomic write, validated read with errors naming every problem, listing.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { listResults, modelResult, readResults, reportedVsOurs, resultsPath, writeResults, type NotebookResults } from "../lib/src/results";

function tmpArtifacts(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "results-test-"));
}

function sample(notebook = "05-cnn-maxpool"): NotebookResults {
  return {
    schema: 1,
    notebook,
    profile: "quick",
    createdAt: "2026-11-22T10:00:00.000Z",
    durationSec: 12.5,
    backend: { name: "wasm", package: "@tensorflow/tfjs-backend-wasm", gpu: false, reason: "test", versions: { "tfjs-core": "4.22.0" }, threads: 1 },
    config: {
      profile: "quick", seed: 42, dataDir: "/d", artifactsDir: "/a", trainSize: 4000, valSize: 1000, testSize: 2000,
      epochs: 2, batchSize: 32, learningRate: 0.001, backend: "wasm", wasmKernels: "fast", wasmThreads: "auto",
    },
    metrics: { "cnn_maxpool.test_acc": 0.9101, "cnn_maxpool.val_acc": 0.9152, "rows.train": 4000 },
    models: [{ name: "cnn_maxpool", params: 694282, trainSec: 31.2, metrics: { test_acc: 0.9101 } }],
  };
}

test("write → read round trip, at <artifactsDir>/results/<notebook>.json, no temporary files left", () => {
  const dir = tmpArtifacts();
  const file = writeResults(sample(), dir);
  assert.equal(file, path.join(dir, "results", "05-cnn-maxpool.json"));
  assert.equal(resultsPath("05-cnn-maxpool", dir), file);
  assert.deepEqual(readResults("05-cnn-maxpool", dir), sample());
  assert.deepEqual(fs.readdirSync(path.join(dir, "results")), ["05-cnn-maxpool.json"]);
  // Overwriting replaces the file as a whole.
  writeResults({ ...sample(), metrics: { x: 1 } }, dir);
  assert.deepEqual(readResults("05-cnn-maxpool", dir).metrics, { x: 1 });
});

test("createdAt is filled in when empty", () => {
  const dir = tmpArtifacts();
  writeResults({ ...sample(), createdAt: "" }, dir);
  const t = Date.parse(readResults("05-cnn-maxpool", dir).createdAt);
  assert.ok(Math.abs(Date.now() - t) < 60_000);
});

test("writeResults rejects non-finite metrics and bad names before touching the disk", () => {
  const dir = tmpArtifacts();
  assert.throws(() => writeResults({ ...sample(), metrics: { "a.test_acc": NaN } }, dir), /metrics\["a\.test_acc"\] must be a finite number/);
  assert.throws(() => writeResults(sample("../escape"), dir), /notebook must be a notebook name|Invalid notebook name/);
  assert.equal(fs.existsSync(path.join(dir, "results")), false);
});

test("readResults explains a missing file, broken JSON and every schema problem", () => {
  const dir = tmpArtifacts();
  assert.throws(() => readResults("07-regularization", dir), /run notebooks\/07-regularization\.ipynb first/);
  fs.mkdirSync(path.join(dir, "results"));
  fs.writeFileSync(path.join(dir, "results", "a.json"), "{ not json");
  assert.throws(() => readResults("a", dir), /not valid JSON/);
  const bad = { ...sample("b"), schema: 2, profile: "huge", metrics: { ok: 1, bad: "0.9" }, models: [{ name: "", params: 1.5, trainSec: 1, metrics: {} }] };
  fs.writeFileSync(path.join(dir, "results", "b.json"), JSON.stringify(bad));
  assert.throws(
    () => readResults("b", dir),
    (err: Error) =>
      /schema must be 1/.test(err.message) && /profile must be "quick" or "full"/.test(err.message) &&
      /metrics\["bad"\] must be a finite number/.test(err.message) && /models\[0\]\.name/.test(err.message) &&
      /models\[0\]\.params must be a whole number/.test(err.message) && err.message.includes("b.json"),
  );
  fs.writeFileSync(path.join(dir, "results", "c.json"), JSON.stringify(sample("d")));
  assert.throws(() => readResults("c", dir), /holds results of "d", expected "c"/);
});

test("listResults returns every notebook's results sorted by name, and nothing for a fresh folder", () => {
  const dir = tmpArtifacts();
  assert.deepEqual(listResults(dir), []);
  writeResults(sample("06-cnn-deep"), dir);
  writeResults(sample("03-dense-shallow"), dir);
  assert.deepEqual(listResults(dir).map((r) => r.notebook), ["03-dense-shallow", "06-cnn-deep"]);
});

test("modelResult reports the epoch whose weights the model ends with, under flat prefixed keys", () => {
  const history = { loss: [0.9, 0.5, 0.4], acc: [0.6, 0.8, 0.85], val_loss: [0.7, 0.45, 0.5], val_acc: [0.7, 0.84, 0.83], epochsRun: 3, bestEpoch: 2, restoredBest: true, trainSec: 12 };
  const { entry, metrics } = modelResult("cnn32", 1000, history, { loss: 0.47, acc: 0.835 });
  assert.deepEqual(metrics, {
    "cnn32.epochs": 3, "cnn32.train_sec": 12, "cnn32.train_loss": 0.5, "cnn32.train_acc": 0.8,
    "cnn32.val_loss": 0.45, "cnn32.val_acc": 0.84, "cnn32.test_loss": 0.47, "cnn32.test_acc": 0.835,
  });
  assert.equal(entry.metrics.val_acc, 0.84);
  assert.equal(entry.params, 1000);
  const last = modelResult("m", 1, { ...history, restoredBest: false });
  assert.equal(last.metrics["m.val_acc"], 0.83);
  assert.equal(last.metrics["m.test_acc"], undefined);
});

test("reportedVsOurs lines up the write-up's figures with ours", () => {
  const rows = reportedVsOurs("cnn32", { "cnn32.val_acc": 0.92, "cnn32.train_acc": 0.95 });
  assert.deepEqual(rows.map((r) => r.metric), ["train_loss", "train_acc", "val_loss", "val_acc"]);
  const val = rows.find((r) => r.metric === "val_acc")!;
  assert.equal(val.reported, 0.9165);
  assert.ok(Math.abs((val.diff ?? NaN) - (0.92 - 0.9165)) < 1e-12);
  assert.equal(rows.find((r) => r.metric === "val_loss")!.ours, null);
  assert.equal(reportedVsOurs("cnn_maxpool", { test_acc: 0.9 }).find((r) => r.metric === "test_acc")!.ours, 0.9);
  assert.throws(() => reportedVsOurs("nope", {}), /No write-up figures for "nope"/);
});
