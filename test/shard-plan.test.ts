// The shard plan (scripts/runner/shard.ts), without kernels: --shard parsing, a deterministic plan that gives
// every notebook (or part) to exactly one shard and keeps dependencies, parts' merged results, and the full
// profile's 4-shard figure from the baseline's durations.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readBaseline } from "../scripts/runner/baseline";
import { formatPlan, mergePartResults, parseShardSpec, planShards, resolveShard, type ShardPlan } from "../scripts/runner/shard";
import { main, selectNotebooks } from "../scripts/run-notebooks";

const ROOT = path.resolve(__dirname, "..");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const files = selectNotebooks([], NOTEBOOKS);
const full = readBaseline(path.join(NOTEBOOKS, "baselines", "full.json"), "full");

test("--shard I/N, FMNIST_SHARD and JOB_COMPLETION_INDEX + --shard-count; bad input is an error with usage", async () => {
  assert.deepEqual(parseShardSpec("2/4"), { index: 2, count: 4 });
  assert.deepEqual(resolveShard(undefined, undefined, { FMNIST_SHARD: "3/3" }), { index: 3, count: 3 });
  assert.deepEqual(resolveShard(undefined, "4", { JOB_COMPLETION_INDEX: "0" }), { index: 1, count: 4 });
  assert.deepEqual(resolveShard(undefined, undefined, { FMNIST_SHARD_COUNT: "4", JOB_COMPLETION_INDEX: "3" }), { index: 4, count: 4 });
  assert.equal(resolveShard(undefined, undefined, {}), undefined);
  for (const bad of ["5/4", "0/4", "1/0", "2", "a/b", "1/4/2", "-1/4", "1/65"]) assert.throws(() => parseShardSpec(bad), /--shard I\/N/, bad);
  assert.throws(() => resolveShard(undefined, "4", { JOB_COMPLETION_INDEX: "4" }), /I must be from 1 to N/);
  assert.throws(() => resolveShard(undefined, "4", {}), /needs JOB_COMPLETION_INDEX/);
  const err: string[] = [];
  const e = console.error;
  console.error = (s: string) => err.push(s);
  try {
    assert.equal(await main(["--shard", "5/4", "--list"]), 2);
    assert.equal(await main(["--shard", "1/2", "--update-baseline"]), 2);
  } finally {
    console.error = e;
  }
  assert.match(err[0], /I must be from 1 to N \(4\)[\s\S]*usage: tsx scripts\/run-notebooks\.ts/);
  assert.match(err[1], /exclude each other/);
});

function checkPlan(plan: ShardPlan, names: string[]): void {
  const owned = plan.shards.flatMap((s) => s.own.map((u) => u.id));
  assert.equal(new Set(owned).size, owned.length, "no unit twice");
  const covered = new Set([...owned, ...plan.final.map((u) => u.id)].map((id) => id.split("/")[0]));
  assert.deepEqual([...covered].sort(), [...names].sort(), "every notebook planned");
  for (const s of plan.shards) {
    const here = new Set([...s.own, ...s.support].map((u) => u.id));
    for (const u of [...s.own, ...s.support]) for (const d of u.after) assert.ok(here.has(d), `shard ${s.index}: ${u.id} runs with its dependency ${d}`);
    for (const u of s.support) assert.ok(u.estSec <= 60, `only cheap dependencies rebuilt (${u.id})`);
  }
}

test("the full profile on 4 shards: every notebook once, dependencies kept, 11 in the final stage; deterministic", () => {
  const names = files.map((f) => path.basename(f, ".ipynb"));
  const plan = planShards(files, full, 4);
  checkPlan(plan, names);
  assert.deepEqual(plan.final.map((u) => u.id), ["11-evaluation"]);
  assert.deepEqual(planShards(files, full, 4), plan, "the same plan every time");
  assert.equal(planShards(files, full, 4).fingerprint, plan.fingerprint);
  const text = formatPlan(plan, "full", 2);
  assert.match(text, /→ shard 2\/4: \d+\.\d min/);
  assert.match(text, /longest shard: \d+\.\d min; critical path with the final stage: \d+\.\d min/);
  // One machine: everything on it, 04 whole, no final stage.
  const one = planShards(files, full, 1);
  assert.deepEqual(one.shards[0].own.map((u) => u.id), names);
  assert.equal(one.final.length, 0);
});

test("with 08 reading only 04's cnn32 part (after: 04-cnn-32-vs-64/cnn32), the full profile's longest shard of 4 is under 35 min", () => {
  // 08 reads cnn32's row of 04's results; declaring that in its metadata is a change for 08's owner. The plan is
  // computed on a copy of the notebooks with that one line changed.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-plan-"));
  try {
    for (const f of files) fs.copyFileSync(f, path.join(dir, path.basename(f)));
    const f08 = path.join(dir, "08-augmentation.ipynb");
    const nb = JSON.parse(fs.readFileSync(f08, "utf8"));
    nb.metadata.fmnist.after = ["02-preprocessing", "04-cnn-32-vs-64/cnn32"];
    fs.writeFileSync(f08, JSON.stringify(nb));
    const copy = selectNotebooks([], dir);
    const plan = planShards(copy, full, 4);
    checkPlan(plan, copy.map((f) => path.basename(f, ".ipynb")));
    const ids = plan.shards.map((s) => s.own.map((u) => u.id));
    const s32 = ids.findIndex((x) => x.includes("04-cnn-32-vs-64/cnn32"));
    assert.ok(s32 >= 0 && ids.some((x) => x.includes("04-cnn-32-vs-64/cnn64")), "04 split in two parts");
    assert.ok(ids[s32].includes("08-augmentation"), "08 runs after cnn32 on its shard");
    const longest = Math.max(...plan.shards.map((s) => s.sec)) / 60;
    assert.ok(longest + plan.finalSec / 60 <= 35, `critical path ${longest.toFixed(1)} min`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("parts' results merge into the file one run writes; disagreeing parts are refused", () => {
  const part = (name: string, metrics: Record<string, number>, extra: Record<string, unknown> = {}) => ({
    notebook: "04", profile: "quick", createdAt: `2026-01-0${name === "a" ? 1 : 2}T00:00:00Z`, durationSec: 2, backend: { name: "wasm" },
    config: { seed: 42, artifactsDir: `/m/${name}` }, metrics, models: [{ name }], ...extra,
  });
  const merged = mergePartResults([{ part: "a", results: part("a", { "rows.train": 5, "a.acc": 0.5 }) }, { part: "b", results: part("b", { "rows.train": 5, "b.acc": 0.25 }) }]);
  assert.deepEqual(Object.keys(merged.metrics), ["rows.train", "a.acc", "b.acc"]);
  assert.deepEqual(merged.models?.map((m) => m.name), ["a", "b"]);
  assert.equal(merged.durationSec, 4);
  assert.equal(merged.createdAt, "2026-01-02T00:00:00Z");
  assert.throws(() => mergePartResults([{ part: "a", results: part("a", { "rows.train": 5 }) }, { part: "b", results: part("b", { "rows.train": 6 }) }]), /rows\.train is 5 in one part and 6 in part b/);
  assert.throws(() => mergePartResults([{ part: "a", results: part("a", {}) }, { part: "b", results: part("b", {}, { config: { seed: 7 } }) }]), /different configurations/);
  assert.throws(() => mergePartResults([{ part: "a", results: part("a", {}) }, { part: "b", results: part("b", {}, { backend: { name: "cpu" } }) }]), /different backends/);
});
