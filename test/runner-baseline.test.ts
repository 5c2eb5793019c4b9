// Unit tests of the runner's regression check: tolerances by metric name, verdicts, the diff table,
// reading results files and writing the baseline.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  baselineEntryFromResults,
  checkMetric,
  compareNotebook,
  defaultTolerance,
  formatDiffTable,
  readBaseline,
  readResults,
  writeBaseline,
  type BaselineFile,
  type BaselineNotebook,
} from "../scripts/runner/baseline";
import type { ResultsFile } from "../lib/src/results";

const base: BaselineNotebook = {
  metrics: {
    "cnn.test_acc": { value: 0.88, kind: "abs", tol: 0.02 },
    "cnn.val_loss": { value: 0.4, kind: "rel", tol: 0.15 },
    "rows.train": { value: 4000, kind: "exact" },
  },
  durationSec: 100,
};

function results(metrics: Record<string, number>, extra: Partial<ResultsFile> = {}): ResultsFile {
  return { notebook: "03-cnn", profile: "quick", createdAt: new Date().toISOString(), metrics, ...extra };
}

test("default tolerances follow the naming convention per profile", () => {
  assert.deepEqual(defaultTolerance("cnn.test_acc", "quick"), { kind: "abs", tol: 0.02 });
  assert.deepEqual(defaultTolerance("cnn.test_acc", "full"), { kind: "abs", tol: 0.01 });
  assert.deepEqual(defaultTolerance("dense.val_loss", "quick"), { kind: "rel", tol: 0.15 });
  assert.deepEqual(defaultTolerance("dense.val_loss", "full"), { kind: "rel", tol: 0.15 });
  assert.equal(defaultTolerance("rows.train", "quick").kind, "exact");
  assert.equal(defaultTolerance("cnn.params", "full").kind, "exact");
  assert.equal(defaultTolerance("cnn.epochs", "quick").kind, "exact");
  assert.equal(defaultTolerance("cnn.best_epoch", "quick").kind, "exact");
  assert.equal(defaultTolerance("tuning.trials", "quick", 3).kind, "exact", "integers under other names are counts");
  assert.deepEqual(defaultTolerance("tuning.best_lr", "quick", 0.001), { kind: "rel", tol: 0.1 });
  assert.equal(defaultTolerance("time.train_sec", "quick").kind, "time");
});

test("metrics within tolerance pass", () => {
  const c = compareNotebook("03-cnn", results({ "cnn.test_acc": 0.895, "cnn.val_loss": 0.45, "rows.train": 4000 }), base, {
    durationSec: 120,
  });
  assert.equal(c.status, "pass");
  assert.ok(c.rows.every((r) => r.verdict === "ok"), JSON.stringify(c.rows));
});

test("a metric changed beyond its tolerance fails and the diff shows it", () => {
  const c = compareNotebook("03-cnn", results({ "cnn.test_acc": 0.85, "cnn.val_loss": 0.4, "rows.train": 4000 }), base);
  assert.equal(c.status, "regression");
  const row = c.rows.find((r) => r.metric === "cnn.test_acc");
  assert.equal(row?.verdict, "FAIL");
  assert.ok(Math.abs((row?.delta ?? 0) - (0.85 - 0.88)) < 1e-12);
  const table = formatDiffTable([c]);
  const line = table.split("\n").find((l) => l.includes("cnn.test_acc")) ?? "";
  assert.match(line, /0\.88\s+0\.85\s+-0\.03\s+±0\.02\s+FAIL/);
  assert.match(table, /baseline\s+actual\s+delta\s+tolerance\s+verdict/);
});

test("relative loss tolerance and exact counts", () => {
  assert.equal(checkMetric({ value: 0.4, kind: "rel", tol: 0.15 }, 0.47).verdict, "FAIL");
  assert.equal(checkMetric({ value: 0.4, kind: "rel", tol: 0.15 }, 0.34).verdict, "ok");
  assert.equal(checkMetric({ value: 4000, kind: "exact" }, 3999).verdict, "FAIL");
  assert.equal(checkMetric({ value: 4000, kind: "exact" }, 4000).verdict, "ok");
});

test("a missing metric fails", () => {
  const c = compareNotebook("03-cnn", results({ "cnn.test_acc": 0.88, "rows.train": 4000 }), base);
  assert.equal(c.status, "regression");
  assert.equal(c.rows.find((r) => r.metric === "cnn.val_loss")?.verdict, "missing");
  assert.match(formatDiffTable([c]), /cnn\.val_loss.*missing/);
});

test("no results at all with a baseline entry fails on every metric", () => {
  const c = compareNotebook("03-cnn", undefined, base);
  assert.equal(c.status, "regression");
  assert.equal(c.rows.filter((r) => r.verdict === "missing").length, 3);
});

test("new metrics are reported but do not fail; no baseline entry is reported as such", () => {
  const c = compareNotebook("03-cnn", results({ "cnn.test_acc": 0.88, "cnn.val_loss": 0.4, "rows.train": 4000, "extra.f1": 0.5 }), base);
  assert.equal(c.status, "pass");
  assert.equal(c.rows.find((r) => r.metric === "extra.f1")?.verdict, "new");
  const none = compareNotebook("09-new", results({ a: 1 }), undefined);
  assert.equal(none.status, "no-baseline");
  assert.match(formatDiffTable([none]), /09-new.*no baseline/);
});

test("slow timings are reported, and fail only in strict-time mode", () => {
  const r = results({ "cnn.test_acc": 0.88, "cnn.val_loss": 0.4, "rows.train": 4000 });
  const lax = compareNotebook("03-cnn", r, base, { durationSec: 1000 });
  assert.equal(lax.status, "pass");
  assert.equal(lax.rows.find((x) => x.metric.startsWith("(notebook duration"))?.verdict, "slow");
  const strict = compareNotebook("03-cnn", r, base, { durationSec: 1000, strictTime: true });
  assert.equal(strict.status, "regression");
});

test("update-baseline writes an entry that the same results then pass, keeping edited tolerances", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-baseline-"));
  try {
    const file = path.join(dir, "quick.json");
    const previous: BaselineNotebook = { metrics: { "cnn.test_acc": { value: 0.5, kind: "abs", tol: 0.05 } } };
    const r = results({ "cnn.test_acc": 0.9, "cnn.val_loss": 0.3, "rows.train": 4000 });
    const b: BaselineFile = { schema: 1, profile: "quick", updatedAt: "", notebooks: {} };
    b.notebooks["03-cnn"] = baselineEntryFromResults(r, "quick", previous, 42.26);
    writeBaseline(file, b);
    const back = readBaseline(file, "quick");
    const entry = back.notebooks["03-cnn"];
    assert.deepEqual(entry.metrics["cnn.test_acc"], { value: 0.9, kind: "abs", tol: 0.05 });
    assert.deepEqual(entry.metrics["cnn.val_loss"], { value: 0.3, kind: "rel", tol: 0.15 });
    assert.deepEqual(entry.metrics["rows.train"], { value: 4000, kind: "exact" });
    assert.equal(entry.durationSec, 42.3);
    assert.equal(compareNotebook("03-cnn", r, entry).status, "pass");
    assert.deepEqual(fs.readdirSync(dir), ["quick.json"], "no temp file left behind");
    assert.throws(() => readBaseline(file, "full"), /profile "quick"/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("readResults rejects stale, foreign-profile and absent results files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-results-"));
  try {
    fs.mkdirSync(path.join(dir, "results"));
    const write = (r: ResultsFile) => fs.writeFileSync(path.join(dir, "results", `${r.notebook}.json`), JSON.stringify(r));
    write(results({ a: 1 }, { notebook: "fresh" }));
    write(results({ a: 1 }, { notebook: "old", createdAt: "2000-01-01T00:00:00.000Z" }));
    write(results({ a: 1 }, { notebook: "full", profile: "full" }));
    const since = new Date(Date.now() - 60_000);
    assert.ok("results" in readResults(dir, "fresh", { profile: "quick", notBefore: since }));
    const stale = readResults(dir, "old", { profile: "quick", notBefore: since });
    assert.ok("note" in stale && /before this run/.test(stale.note));
    const other = readResults(dir, "full", { profile: "quick" });
    assert.ok("note" in other && /profile "full"/.test(other.note));
    const none = readResults(dir, "absent");
    assert.ok("note" in none && /no results file/.test(none.note));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a malformed baseline is rejected with the file named", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-baseline-"));
  try {
    const file = path.join(dir, "quick.json");
    fs.writeFileSync(file, JSON.stringify({ schema: 1, profile: "quick", notebooks: { x: { metrics: { m: { value: "1" } } } } }));
    assert.throws(() => readBaseline(file, "quick"), (e: Error) => e.message.includes(file) && e.message.includes("x / m"));
    assert.deepEqual(readBaseline(path.join(dir, "absent.json"), "quick").notebooks, {});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
