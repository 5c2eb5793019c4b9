// Issue 16.6, 16.7 and smaller items of 16: failures the runner used to miss or misreport — an exception thrown
// asynchronously after a cell finished, a kernel out of memory, an invalid FMNIST_PROFILE, relative folders.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "../scripts/runner/args";
import { describeKernelDeath } from "../scripts/runner/kernel-client";
import type { Notebook } from "../scripts/runner/nbformat";
import type { RunSummary } from "../scripts/runner/summary";
import { runnerHarness } from "./helpers/runner-cli";

const REPO = path.resolve(__dirname, "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "runner-hardening");
const harness = runnerHarness("fmnist-hardening-failures-");
const { tmp } = harness;
const runRunner = harness.run;
after(harness.cleanup);

function readNb(file: string): Notebook {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
}

test("an exception thrown by a timer after its cell finished fails the notebook and names the cell", async () => {
  const out = path.join(tmp, "late");
  const r = await runRunner(["late-throw", "late-throw-last", "--keep-going", "--notebooks-dir", FIXTURES, "--output", out, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-late")}`]);
  assert.equal(r.code, 1, r.stderr);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as RunSummary;
  const byName = new Map(summary.notebooks.map((n) => [n.notebook, n]));

  // Thrown 10 ms after cell 2 (code cell 1) finished, while the next cell starts: either cell may be named,
  // the one whose timer threw (it was the last to run) or the one running when it was thrown.
  const late = byName.get("late-throw");
  assert.equal(late?.status, "error", r.stderr);
  assert.ok(late?.failure && [1, 2].includes(late.failure.codeCell), JSON.stringify(late?.failure));
  assert.match(late.failure.message, /UncaughtException: Error: late\b.*asynchronously/);
  assert.match(r.stderr, /late-throw: error at cell [23] \(code cell [12]\): UncaughtException: Error: late/);
  const cells = readNb(path.join(out, "late-throw.ipynb")).cells.filter((c) => c.cell_type === "code");
  assert.ok(cells.some((c) => (c.outputs ?? []).some((o) => o.output_type === "error" && o.ename === "UncaughtException")), "error output recorded");
  assert.deepEqual(cells[2].outputs, [], "the cell after the failure does not run");

  // Thrown after the last cell finished: caught before the kernel shuts down.
  const last = byName.get("late-throw-last");
  assert.equal(last?.status, "error", r.stderr);
  assert.equal(last?.failure?.codeCell, 2);
  assert.match(r.stderr, /late-throw-last: error at cell 3 \(code cell 2\): UncaughtException: Error: late in the last cell/);
  assert.match(r.stdout, /notebooks: 0 passed, 2 failed/);
});

test("a kernel that runs out of JavaScript heap is reported as out of memory", async () => {
  const out = path.join(tmp, "oom");
  // NODE_OPTIONS reaches the kernel through the environment; 300 MB is ample for the runner and tslab's compiler.
  const r = await runRunner(["oom", "--notebooks-dir", FIXTURES, "--output", out, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-oom")}`], {
    NODE_OPTIONS: "--max-old-space-size=300",
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /oom: kernel-died at cell 3 \(code cell 2\): kernel \(pid \d+\) died during cell execution \(out of memory: the kernel's JavaScript heap reached its limit/);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as RunSummary;
  assert.match(summary.notebooks[0].failure?.message ?? "", /out of memory/);
});

test("kernel deaths: V8's out-of-memory abort is named, other deaths are not mistaken for it", () => {
  const v8 = "\n<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb8 node::Abort() [node]\n";
  assert.match(describeKernelDeath(null, "SIGABRT", v8), /^out of memory: .*\(signal SIGABRT\).*--max-old-space-size/);
  assert.match(describeKernelDeath(134, null, "FATAL ERROR: Ineffective mark-compacts near heap limit Allocation failed - JavaScript heap out of memory"), /^out of memory/);
  assert.equal(describeKernelDeath(1, null, "Error: boom"), "exit code 1");
  assert.match(describeKernelDeath(null, "SIGKILL", ""), /signal SIGKILL; .*out-of-memory killer/);
});

test("an invalid FMNIST_PROFILE is rejected like lib's resolveConfig does; --profile or an empty value is fine", async () => {
  assert.throws(() => parseArgs([], { FMNIST_PROFILE: "ful" }, "/repo"), /FMNIST_PROFILE = "ful": unknown profile; choose one of quick, full/);
  assert.throws(() => parseArgs(["--list"], { FMNIST_PROFILE: "QUICK" }, "/repo"), /unknown profile/);
  assert.equal(parseArgs(["--profile", "full"], { FMNIST_PROFILE: "ful" }, "/repo").profile, "full");
  assert.equal(parseArgs([], { FMNIST_PROFILE: "" }, "/repo").profile, "quick");
  assert.equal(parseArgs([], { FMNIST_PROFILE: "full" }, "/repo").profile, "full");
  const r = await runRunner(["--list", "--notebooks-dir", FIXTURES], { FMNIST_PROFILE: "fulll" });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /FMNIST_PROFILE = "fulll": unknown profile/);
});

test("relative --set DATA_DIR= and ARTIFACTS_DIR= are resolved against the current folder, not notebooks/", () => {
  const cwd = path.join(tmp, "somewhere");
  const o = parseArgs(["--set", "DATA_DIR=data/fmnist", "--set", "artifacts-dir=../art", "--set", "EPOCHS=2"], {}, "/repo", cwd);
  assert.equal(o.overrides.FMNIST_DATA_DIR, path.join(cwd, "data", "fmnist"));
  assert.equal(o.overrides.FMNIST_ARTIFACTS_DIR, path.join(tmp, "art"));
  assert.equal(o.overrides.FMNIST_EPOCHS, "2", "other values are passed as given");
  assert.equal(parseArgs(["--set", "DATA_DIR=/abs/data"], {}, "/repo", cwd).overrides.FMNIST_DATA_DIR, "/abs/data");
  assert.throws(() => parseArgs(["--set", "DATA_DIR="], {}, "/repo", cwd), /--set DATA_DIR= needs a folder path/);
});
