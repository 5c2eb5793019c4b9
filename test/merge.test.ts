// `npm run merge` on small fixture notebooks (test/helpers/shard-fixtures.ts; no tfjs): three shards run by three
// runner processes, merged (the final stage runs on the merged tree), then every refusal on altered copies of the
// shard folders: different commit, profile, config, engine version, kernel setting or plan; a shard missing or given
// twice; a notebook present twice; a failed shard (and --allow-failed, which merges and marks it failed).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeShardFixtures } from "./helpers/shard-fixtures";
import { MergeRefusal, merge, parseMergeArgs, type MergeOptions } from "../scripts/merge";
import type { RunSummary } from "../scripts/runner/summary";
import { runNode } from "./helpers/run-node";

const ROOT = path.resolve(__dirname, "..");

const run = (args: string[]) => runNode(args);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-merge-"));
const { notebooksDir, baselineFile } = writeShardFixtures(tmp);
const shardDir = (i: number) => path.join(tmp, `shard${i}`);
const opts = (extra: Partial<MergeOptions> & { dirs?: string[] } = {}): MergeOptions => ({
  out: path.join(tmp, `out-${Math.random().toString(36).slice(2)}`),
  shardDirs: extra.dirs ?? [1, 2, 3].map(shardDir),
  allowFailed: false,
  baselineFile,
  notebooksDir,
  runFinal: true,
  ...extra,
});
/** A copy of shard `i` with its summary changed by `edit`. */
function alteredShard(i: number, edit: (s: Record<string, any>) => void): string {
  const dir = path.join(tmp, `altered-${i}-${Math.random().toString(36).slice(2)}`);
  fs.cpSync(shardDir(i), dir, { recursive: true });
  const file = path.join(dir, "executed", "quick", "summary.json");
  const s = JSON.parse(fs.readFileSync(file, "utf8"));
  edit(s);
  fs.writeFileSync(file, JSON.stringify(s));
  return dir;
}
const quiet = async <T>(f: () => Promise<T>): Promise<T> => {
  const log = console.log;
  const err = console.error;
  console.log = () => {};
  console.error = () => {};
  try {
    return await f();
  } finally {
    console.log = log;
    console.error = err;
  }
};

test("three shards of the fixture notebooks run, merge into one checked tree, and the final stage runs on it", { timeout: 600_000 }, async () => {
  // One machine after another (each shard is its own process and folder; running them at once on a 2-core CI
  // machine only adds kernel-start contention, which is not what this test is about).
  const shards: { code: number | null; out: string }[] = [];
  for (const i of [1, 2, 3]) {
    shards.push(await run(["scripts/run-notebooks.ts", "--notebooks-dir", notebooksDir, "--baseline", baselineFile, "--check", "--shard", `${i}/3`, "--kernel-timeout", "180", "--set", `ARTIFACTS_DIR=${shardDir(i)}`]));
  }
  shards.forEach((r, i) => assert.equal(r.code, 0, `shard ${i + 1}/3:\n${r.out}`));
  const s1 = JSON.parse(fs.readFileSync(path.join(shardDir(1), "executed", "quick", "summary.json"), "utf8")) as RunSummary;
  assert.deepEqual(s1.shard?.own, ["02-split/m1", "03-after-m1"]);
  assert.deepEqual(s1.shard?.support, ["01-prep"], "the cheap dependency is rebuilt, not reported");
  assert.deepEqual(s1.notebooks.map((r) => [r.notebook, r.part]), [["02-split", "m1"], ["03-after-m1", undefined]]);

  const o = opts();
  const code = await quiet(() => merge(o));
  assert.equal(code, 0);
  const merged = JSON.parse(fs.readFileSync(path.join(o.out, "executed", "quick", "summary.json"), "utf8")) as RunSummary;
  assert.deepEqual(merged.notebooks.map((r) => r.notebook), ["01-prep", "02-split", "03-after-m1", "04-solo", "05-final"], "every notebook exactly once, in series order");
  assert.ok(merged.notebooks.every((r) => r.status === "ok" && r.check === "pass"), JSON.stringify(merged.notebooks));
  assert.equal(merged.ok, true);
  const r02 = JSON.parse(fs.readFileSync(path.join(o.out, "results", "02-split.json"), "utf8"));
  assert.deepEqual(Object.keys(r02.metrics), ["rows.train", "m1.test_acc", "m1.train_sec", "m2.test_acc", "m2.train_sec"], "the parts' metrics in part order");
  assert.deepEqual(r02.models.map((m: { name: string }) => m.name), ["m1", "m2"]);
  const r05 = JSON.parse(fs.readFileSync(path.join(o.out, "results", "05-final.json"), "utf8"));
  assert.deepEqual(r05.metrics, { "count.results": 4, "count.models": 3 }, "the final stage saw every shard's results and models");
  const nb = JSON.parse(fs.readFileSync(path.join(o.out, "executed", "quick", "02-split.ipynb"), "utf8"));
  const texts = nb.cells.map((c: { outputs: Array<{ text?: string[] | string }> }) => c.outputs.map((x) => [x.text ?? ""].flat().join("")).join(""));
  assert.deepEqual(texts.slice(1, 4), ["setup\n", "trained m1\n", "trained m2\n"], "one executed notebook: each part's cells, shared output once");
  assert.deepEqual(nb.metadata.fmnist_run.parts.map((p: { part: string; shard: number }) => [p.part, p.shard]), [["m1", 1], ["m2", 3]]);
});

test("merge refuses shards that do not make one run, naming the difference", { timeout: 120_000 }, async () => {
  const refuses = async (o: MergeOptions, re: RegExp) => {
    await assert.rejects(quiet(() => merge(o)), (err: Error) => err instanceof MergeRefusal && re.test(err.message), String(re));
    assert.ok(!fs.existsSync(o.out) || fs.readdirSync(o.out).length === 0 || re.source.includes("not empty"), "nothing merged");
  };
  const dirs = (i: number, alt: string) => [1, 2, 3].map((k) => (k === i ? alt : shardDir(k)));
  await refuses(opts({ dirs: dirs(2, alteredShard(2, (s) => (s.provenance.commit = "0".repeat(40)))) }), /shards of different commits: .* ran [0-9a-f]{40}|different commits/);
  await refuses(opts({ dirs: dirs(2, alteredShard(2, (s) => (s.provenance.changes = "abc"))) }), /different uncommitted changes/);
  await refuses(opts({ dirs: dirs(3, alteredShard(3, (s) => (s.profile = "full"))) }), /ran profile quick, .* profile full/);
  await refuses(opts({ dirs: dirs(3, alteredShard(3, (s) => (s.parameters.FMNIST_EPOCHS = "3"))) }), /different configs or kernel settings: .*FMNIST_EPOCHS: unset vs "3"/);
  await refuses(opts({ dirs: dirs(3, alteredShard(3, (s) => (s.parameters.FMNIST_WASM_THREADS = "1"))) }), /kernel settings: .*FMNIST_WASM_THREADS/);
  await refuses(opts({ dirs: dirs(2, alteredShard(2, (s) => (s.provenance.versions["@tensorflow/tfjs-core"] = "4.21.0"))) }), /different engine versions: .*@tensorflow\/tfjs-core: "4\.22\.0" vs "4\.21\.0"/);
  await refuses(opts({ dirs: dirs(2, alteredShard(2, (s) => (s.shard.plan = "ffff"))) }), /different plans/);
  await refuses(opts({ dirs: [shardDir(1), shardDir(2)] }), /shard\(s\) 3\/3 missing/);
  await refuses(opts({ dirs: [shardDir(1), shardDir(2), shardDir(3), shardDir(2)] }), /shard 2\/3 given twice/);
  await refuses(
    opts({ dirs: dirs(2, alteredShard(2, (s) => s.notebooks.push({ ...s.notebooks[0], notebook: "01-prep" }))) }),
    /01-prep present twice: in shard 2\/3 .* and shard 3\/3|01-prep is in shard 2\/3 .*which the plan did not give it to/,
  );
  await refuses(opts({ dirs: dirs(2, alteredShard(2, (s) => (s.notebooks = []))) }), /04-solo missing: shard 2\/3 did not run it/);
  const failedShard = alteredShard(2, (s) => {
    s.ok = false;
    s.notebooks[0].status = "error";
    s.notebooks[0].failure = { cell: 2, codeCell: 2, message: "Error: boom" };
  });
  await refuses(opts({ dirs: dirs(2, failedShard) }), /shard 2\/3 .* failed; 04-solo error in its shard/);
  const o = opts({ dirs: dirs(2, failedShard), allowFailed: true, runFinal: false });
  assert.equal(await quiet(() => merge(o)), 1, "merged, but failed");
  const s = JSON.parse(fs.readFileSync(path.join(o.out, "executed", "quick", "summary.json"), "utf8")) as RunSummary;
  assert.equal(s.ok, false);
  assert.equal(s.notebooks.find((r) => r.notebook === "04-solo")?.status, "error");
  assert.equal(s.notebooks.filter((r) => r.notebook === "04-solo").length, 1);
  await refuses({ ...opts(), out: o.out }, /is not empty/);
  assert.throws(() => parseMergeArgs(["s1"]), /--out DIR is required/);
  assert.throws(() => parseMergeArgs(["--out", "x"]), /no shard folders/);
  assert.throws(() => parseMergeArgs(["--out", "x", "--bogus", "s1"]), /unknown option "--bogus"/);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
