// Issue 16, smaller item: a non-numeric metric in a results file crashed `npm run report` with
// "v.toFixed is not a function". The report must build, and name the offending file and key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const FIX = path.join(__dirname, "fixtures", "report");
const REPORT = path.join(__dirname, "..", "scripts", "report.ts");

test("non-numeric metrics and durations are reported with file and key; the report still builds", (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-report-"));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  fs.cpSync(FIX, tmp, { recursive: true });
  const resultsFile = path.join(tmp, "results", "02-fixture-failing.json");
  const r = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as {
    metrics: Record<string, unknown>;
    models: Array<{ trainSec: unknown; metrics: Record<string, unknown> }>;
  };
  r.metrics["cnn32.val_acc"] = "0.85";
  r.metrics["dense_shallow.train_sec"] = null;
  r.models[0].trainSec = "fast";
  r.models[0].metrics.test_acc = { value: 0.84 };
  fs.writeFileSync(resultsFile, JSON.stringify(r));
  const summaryFile = path.join(tmp, "executed", "summary.json");
  const summary = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as { durationSec: unknown; notebooks: Array<{ durationSec: unknown }> };
  summary.durationSec = "long";
  summary.notebooks[0].durationSec = "12 s";
  fs.writeFileSync(summaryFile, JSON.stringify(summary));

  const out = path.join(tmp, "report");
  const run = spawnSync(process.execPath, ["--import", "tsx", REPORT, "--in", path.join(tmp, "executed"), "--results", path.join(tmp, "results"), "--out", out], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(run.status, 0, `report failed: ${run.stderr}`);
  assert.doesNotMatch(run.stderr, /toFixed/);
  for (const key of ['metrics["cnn32.val_acc"] is "0.85", not a number', 'metrics["dense_shallow.train_sec"] is null', 'models[0].trainSec is "fast"', 'models[0].metrics["test_acc"] is {"value":0.84}']) {
    assert.ok(run.stderr.includes(`report: ${resultsFile}: ${key}`), `stderr should name ${resultsFile} and ${key}:\n${run.stderr}`);
  }
  assert.ok(run.stderr.includes(`report: ${summaryFile}: durationSec is "long"`), run.stderr);
  assert.ok(run.stderr.includes(`report: ${summaryFile}: notebooks[0].durationSec is "12 s"`), run.stderr);
  const index = fs.readFileSync(path.join(out, "index.html"), "utf8");
  // The dropped training time shows as —; the rest of the file's numbers are still there.
  assert.match(index, /<td class="text">dense_shallow<\/td><td class="text">02-fixture-failing<\/td><td>0\.8000<\/td><td>0\.7900<\/td><td>—<\/td>/);
  assert.match(index, /<td class="text">cnn32<\/td><td class="text">02-fixture-failing<\/td><td>0\.8500<\/td><td>0\.8400<\/td><td>20\.5<\/td>/);
});
