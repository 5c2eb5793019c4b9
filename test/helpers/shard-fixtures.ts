// Small notebooks (no tfjs: each writes a results file in a few lines) for the sharding and merge tests: a cheap
// first notebook every shard rebuilds, a notebook split into two parts, one that reads one part, one on its own, and
// a final notebook that counts every results file (as 11-evaluation counts the models it compares).
import * as fs from "node:fs";
import * as path from "node:path";

function notebook(cells: string[], fmnist?: Record<string, unknown>): string {
  return JSON.stringify(
    {
      cells: cells.map((source, i) => ({ cell_type: "code", execution_count: null, id: `c${i}`, metadata: {}, outputs: [], source })),
      metadata: { ...(fmnist ? { fmnist } : {}), kernelspec: { display_name: "TypeScript (fmnist)", language: "typescript", name: "fmnist-tslab" }, language_info: { name: "typescript" } },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  );
}

const header = `import * as fs from "fs";
import * as path from "path";
const artifacts = process.env.FMNIST_ARTIFACTS_DIR as string;
const write = (name: string, metrics: Record<string, number>, models: string[] = []) => {
  fs.mkdirSync(path.join(artifacts, "results"), { recursive: true });
  for (const m of models) { fs.mkdirSync(path.join(artifacts, "models", m), { recursive: true }); fs.writeFileSync(path.join(artifacts, "models", m, "model.json"), JSON.stringify({ m })); }
  fs.writeFileSync(path.join(artifacts, "results", name + ".json"), JSON.stringify({ schema: 1, notebook: name, profile: process.env.FMNIST_PROFILE, createdAt: new Date().toISOString(), durationSec: 0.1,
    backend: { name: "fixture" }, config: { profile: process.env.FMNIST_PROFILE, seed: 42, artifactsDir: artifacts }, metrics: metrics,
    models: models.map((m) => ({ name: m, notebook: name, metrics: { test_acc: metrics[m + ".test_acc"] }, trainSec: 0 })) }));
};`;

/** Writes the fixture notebooks and their baseline into `dir`; returns the notebooks folder and baseline file. */
export function writeShardFixtures(dir: string): { notebooksDir: string; baselineFile: string } {
  const nbDir = path.join(dir, "notebooks");
  fs.mkdirSync(nbDir, { recursive: true });
  const files: Record<string, string> = {
    "01-prep": notebook([header, `fs.mkdirSync(path.join(artifacts, "splits"), { recursive: true });\nfs.writeFileSync(path.join(artifacts, "splits", "split.json"), "[1,2,3]");\nwrite("01-prep", { "rows.train": 3 });\nconsole.log("split written");`]),
    "02-split": notebook(
      [
        header,
        `const selected = (process.env.FMNIST_MODELS ?? "m1,m2").split(",");\nconsole.log("setup");`,
        `if (selected.includes("m1")) console.log("trained m1");`,
        `if (selected.includes("m2")) console.log("trained m2");`,
        `const metrics: Record<string, number> = { "rows.train": 3 };\nif (selected.includes("m1")) Object.assign(metrics, { "m1.test_acc": 0.5, "m1.train_sec": 0.01 });\nif (selected.includes("m2")) Object.assign(metrics, { "m2.test_acc": 0.25, "m2.train_sec": 0.01 });\nwrite("02-split", metrics, selected);`,
      ],
      { after: ["01-prep"], parts: { parameter: "FMNIST_MODELS", values: ["m1", "m2"] } },
    ),
    "03-after-m1": notebook(
      [header, `const r = JSON.parse(fs.readFileSync(path.join(artifacts, "results", "02-split.json"), "utf8"));\nconsole.log("m1 from 02:", r.metrics["m1.test_acc"]);\nwrite("03-after-m1", { "reads.m1_test_acc": r.metrics["m1.test_acc"] });`],
      { after: ["01-prep", "02-split/m1"] },
    ),
    "04-solo": notebook([header, `write("04-solo", { "solo.test_acc": 0.75 }, ["solo"]);`], { after: ["01-prep"] }),
    "05-final": notebook(
      [header, `const n = fs.readdirSync(path.join(artifacts, "results")).filter((f) => f.endsWith(".json")).length;\nconst models = fs.readdirSync(path.join(artifacts, "models")).length;\nwrite("05-final", { "count.results": n, "count.models": models });`],
      { after: "all" },
    ),
  };
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(nbDir, `${name}.ipynb`), text);
  const exact = (value: number) => ({ value, kind: "exact" });
  const baseline = {
    schema: 1,
    profile: "quick",
    updatedAt: new Date(0).toISOString(),
    notebooks: {
      "01-prep": { metrics: { "rows.train": exact(3) }, durationSec: 5 },
      "02-split": { metrics: { "rows.train": exact(3), "m1.test_acc": { value: 0.5, kind: "abs", tol: 0.02 }, "m2.test_acc": { value: 0.25, kind: "abs", tol: 0.02 }, "m1.train_sec": { value: 40, kind: "time", tol: 3 }, "m2.train_sec": { value: 50, kind: "time", tol: 3 } }, durationSec: 100 },
      "03-after-m1": { metrics: { "reads.m1_test_acc": { value: 0.5, kind: "abs", tol: 0.02 } }, durationSec: 70 },
      "04-solo": { metrics: { "solo.test_acc": { value: 0.75, kind: "abs", tol: 0.02 } }, durationSec: 80 },
      "05-final": { metrics: { "count.results": exact(4), "count.models": exact(3) }, durationSec: 5 },
    },
  };
  const baselineFile = path.join(dir, "baseline-quick.json");
  fs.writeFileSync(baselineFile, JSON.stringify(baseline, null, 2));
  return { notebooksDir: nbDir, baselineFile };
}
