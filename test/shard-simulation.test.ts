// Three machines simulated on one: three artifacts folders, three runner processes with --shard 1/3, 2/3, 3/3 under
// the quick profile, then `merge` and `report`. To keep CI short it runs notebooks 01–04 only (04 split into its
// cnn32 and cnn64 parts on two shards, 02 rebuilt by every shard that needs it); 05–11 run in `npm test`'s own
// quick run, and the merge's final stage (11-evaluation's place) is covered by test/merge.test.ts on fixture notebooks.
// The quick profile is deterministic: every merged metric must equal notebooks/baselines/quick.json bit for bit.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { merge } from "../scripts/merge";
import { buildReport } from "../scripts/report";
import type { RunSummary } from "../scripts/runner/summary";
import { runNode } from "./helpers/run-node";

const ROOT = path.resolve(__dirname, "..");
const NOTEBOOKS = ["01-exploration", "02-preprocessing", "03-dense-shallow", "04-cnn-32-vs-64"];

const run = (args: string[]) => runNode(args);

test("three shards of the quick profile (01–04) merge into one summary and report with the single-machine metrics, bit for bit", { timeout: 1_500_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-shards-"));
  try {
    const dir = (i: number) => path.join(tmp, `machine${i}`);
    const shards = await Promise.all([1, 2, 3].map((i) => run(["scripts/run-notebooks.ts", "--profile", "quick", "--check", "--shard", `${i}/3`, "--kernel-timeout", "180", "--set", `ARTIFACTS_DIR=${dir(i)}`, ...NOTEBOOKS])));
    shards.forEach((r, i) => assert.equal(r.code, 0, `shard ${i + 1}/3 failed:\n${r.out.slice(-4000)}`));
    const owned = [1, 2, 3].flatMap((i) => (JSON.parse(fs.readFileSync(path.join(dir(i), "executed", "quick", "summary.json"), "utf8")) as RunSummary).shard?.own ?? []);
    assert.ok(owned.includes("04-cnn-32-vs-64/cnn32") && owned.includes("04-cnn-32-vs-64/cnn64"), `04 split across shards: ${owned.join(", ")}`);

    const out = path.join(tmp, "merged");
    const log = console.log;
    console.log = () => {};
    let code: number;
    try {
      code = await merge({ out, shardDirs: [3, 1, 2].map(dir), allowFailed: false, notebooksDir: path.join(ROOT, "notebooks"), runFinal: true });
    } finally {
      console.log = log;
    }
    assert.equal(code, 0, "merged run passes the baseline check");
    const summary = JSON.parse(fs.readFileSync(path.join(out, "executed", "quick", "summary.json"), "utf8")) as RunSummary;
    assert.deepEqual(summary.notebooks.map((r) => r.notebook), NOTEBOOKS, "every notebook exactly once");
    assert.ok(summary.notebooks.every((r) => r.status === "ok" && r.check === "pass"));

    // Bit-identical to the single-machine quick baseline (timings aside).
    const baseline = JSON.parse(fs.readFileSync(path.join(ROOT, "notebooks", "baselines", "quick.json"), "utf8")) as {
      notebooks: Record<string, { metrics: Record<string, { value: number; kind: string }> }>;
    };
    for (const name of NOTEBOOKS) {
      const results = JSON.parse(fs.readFileSync(path.join(out, "results", `${name}.json`), "utf8")) as { metrics: Record<string, number> };
      const expected = Object.entries(baseline.notebooks[name].metrics).filter(([, m]) => m.kind !== "time");
      assert.ok(expected.length > 0);
      for (const [metric, m] of expected) assert.equal(results.metrics[metric], m.value, `${name} ${metric}`);
      assert.deepEqual(Object.keys(results.metrics).sort(), Object.keys(baseline.notebooks[name].metrics).sort(), `${name}: the same metrics as a single run`);
    }
    const r04 = JSON.parse(fs.readFileSync(path.join(out, "results", "04-cnn-32-vs-64.json"), "utf8")) as { models: Array<{ name: string }> };
    assert.deepEqual(r04.models.map((m) => m.name), ["cnn32", "cnn64"]);
    for (const m of ["cnn32", "cnn64", "dense_shallow"]) assert.ok(fs.existsSync(path.join(out, "models", m)), `model ${m} merged`);

    // One executed 04 with both trainings, and a report built from the merged tree.
    const nb = fs.readFileSync(path.join(out, "executed", "quick", "04-cnn-32-vs-64.ipynb"), "utf8");
    assert.match(nb, /cnn32: learning curves/);
    assert.match(nb, /cnn64: learning curves/);
    const report = buildReport({ inDir: path.join(out, "executed", "quick"), resultsDir: path.join(out, "results"), outDir: path.join(out, "report") });
    assert.deepEqual(report.pages.map((p) => p.file).sort(), [...NOTEBOOKS.map((n) => `${n}.html`), "index.html"].sort());
    const index = fs.readFileSync(path.join(out, "report", "index.html"), "utf8");
    for (const n of NOTEBOOKS) assert.ok(index.includes(n), `index lists ${n}`);
    assert.match(index, /cnn64/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
