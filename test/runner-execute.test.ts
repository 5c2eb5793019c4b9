// Integration tests of the headless runner on small fixture notebooks (plain TypeScript, no fmnist lib):
// outputs recorded, failures named and saved, timeouts and kernel deaths detected, no kernel left behind.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Notebook, Output } from "../scripts/runner/nbformat";
import type { RunSummary } from "../scripts/runner/summary";

const REPO = path.resolve(__dirname, "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "notebooks");
const RUNNER = path.join(REPO, "scripts", "run-notebooks.ts");
let tmp = "";
/** The runner's TMPDIR: its private connection-file folders must all be gone after every run. */
let runnerTmp = "";

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-runner-test-"));
  runnerTmp = path.join(tmp, "tmpdir");
  fs.mkdirSync(runnerTmp);
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface RunOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the runner CLI in a child node (one process: signals reach it directly). */
function runRunner(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, ...args], {
      cwd: REPO,
      env: { ...process.env, FMNIST_PROFILE: "", FMNIST_ARTIFACTS_DIR: "", TMPDIR: runnerTmp },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString();
      onStderr?.(stderr, child);
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const left = fs.readdirSync(runnerTmp).filter((f) => f.startsWith("fmnist-kernel-"));
      if (left.length > 0) reject(new Error(`connection-file folders left behind: ${left.join(", ")}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readNb(file: string): Notebook {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
}

function codeCells(nb: Notebook) {
  return nb.cells.filter((c) => c.cell_type === "code");
}

function streamText(outputs: Output[] | undefined, name: "stdout" | "stderr"): string {
  return (outputs ?? [])
    .map((o) => (o.output_type === "stream" && o.name === name ? (Array.isArray(o.text) ? o.text.join("") : o.text) : ""))
    .join("");
}

test("a series with a passing, a throwing, a hanging and a dying notebook (--keep-going)", async () => {
  const out = path.join(tmp, "series");
  const art = path.join(tmp, "art-series");
  const r = await runRunner([
    "--notebooks-dir", FIXTURES,
    "--output", out,
    "--set", `ARTIFACTS_DIR=${art}`,
    "--set", "extra=42",
    "--cell-timeout", "4",
    "--keep-going",
  ]);
  assert.equal(r.code, 1, r.stderr);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as RunSummary;
  const byName = new Map(summary.notebooks.map((n) => [n.notebook, n]));
  assert.deepEqual([...byName.keys()], ["hangs", "kernel-dies", "ok", "throws"]);
  assert.equal(summary.ok, false);

  // No kernel process outlives the run.
  for (const n of summary.notebooks) {
    assert.ok(typeof n.kernelPid === "number" && n.kernelPid > 0, `${n.notebook} has a kernel pid`);
    assert.equal(isAlive(n.kernelPid), false, `kernel of ${n.notebook} (pid ${n.kernelPid}) is gone`);
  }

  // Passing notebook: outputs, counts, timings and parameters recorded.
  assert.equal(byName.get("ok")?.status, "ok");
  const ok = readNb(path.join(out, "ok.ipynb"));
  const okCells = codeCells(ok);
  assert.match(streamText(okCells[0].outputs, "stdout"), /profile=quick under_test=1 extra=42/);
  const display = okCells[1].outputs?.find((o) => o.output_type === "display_data");
  assert.ok(display && display.output_type === "display_data");
  assert.equal(display.data["text/html"], "<b>bold</b>");
  assert.match(streamText(okCells[1].outputs, "stderr"), /a warning on stderr/);
  assert.deepEqual(okCells.map((c) => c.execution_count), [1, 2, 3]);
  for (const c of okCells) {
    const ex = c.metadata.execution as Record<string, string>;
    const timing = (c.metadata.fmnist as { timing: { started: string; finished: string; duration_sec: number } }).timing;
    assert.ok(Date.parse(timing.started) <= Date.parse(timing.finished), "cell has started/finished timestamps (metadata.fmnist.timing)");
    assert.equal(typeof timing.duration_sec, "number");
    assert.ok(ex["iopub.status.idle"], "cell has nbclient-style kernel timestamps");
  }
  const meta = ok.metadata.fmnist_run as { parameters: Record<string, string>; status: string };
  assert.equal(meta.status, "ok");
  assert.equal(meta.parameters.FMNIST_PROFILE, "quick");
  assert.equal(meta.parameters.FMNIST_EXTRA, "42");
  assert.equal(meta.parameters.FMNIST_UNDER_TEST, "1");
  assert.ok(fs.existsSync(path.join(art, "results", "ok.json")), "the notebook wrote its results where the runner said");

  // Throwing cell: named, saved with an error output, later cells not run.
  assert.equal(byName.get("throws")?.status, "error");
  assert.match(r.stderr, /throws: error at cell 3 \(code cell 2\): Error: deliberate failure in cell 3/);
  assert.match(r.stderr, /\| throw new Error\("deliberate failure in cell 3"\);|\|\s+throw new Error/);
  const thrown = codeCells(readNb(path.join(out, "throws.ipynb")));
  const err = thrown[1].outputs?.find((o) => o.output_type === "error");
  assert.ok(err && err.output_type === "error", "error output synthesized");
  assert.equal(err.ename, "Error");
  assert.equal(err.evalue, "deliberate failure in cell 3");
  assert.ok(err.traceback.length > 1);
  assert.equal(streamText(thrown[0].outputs, "stdout"), "before\n");
  assert.deepEqual(thrown[2].outputs, []);
  assert.equal(thrown[2].execution_count, null);

  // Hanging cell: per-cell timeout.
  assert.equal(byName.get("hangs")?.status, "timeout");
  assert.match(r.stderr, /hangs: timeout at cell 3 \(code cell 2\): cell timed out after 4\.0 s/);
  const hung = codeCells(readNb(path.join(out, "hangs.ipynb")));
  assert.ok(hung[1].outputs?.some((o) => o.output_type === "error" && o.ename === "CellTimeout"));

  // Dying kernel: detected.
  assert.equal(byName.get("kernel-dies")?.status, "kernel-died");
  assert.match(r.stderr, /kernel-dies: kernel-died at cell 3 \(code cell 2\): kernel \(pid \d+\) died/);
  assert.deepEqual(codeCells(readNb(path.join(out, "kernel-dies.ipynb")))[2].outputs, []);

  // Sources untouched.
  for (const f of fs.readdirSync(FIXTURES)) {
    assert.ok(codeCells(readNb(path.join(FIXTURES, f))).every((c) => (c.outputs ?? []).length === 0), `${f} still clean`);
  }
});

test("without --keep-going the series stops at the first failing notebook", async () => {
  const out = path.join(tmp, "stop");
  const r = await runRunner(["kernel-dies", "ok", "--notebooks-dir", FIXTURES, "--output", out, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-stop")}`]);
  assert.equal(r.code, 1);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as RunSummary;
  assert.deepEqual(summary.notebooks.map((n) => n.notebook), ["kernel-dies"]);
  assert.match(r.stderr, /stopped the series: 1 notebook\(s\) not run \(ok\); use --keep-going/);
  assert.equal(fs.existsSync(path.join(out, "ok.ipynb")), false);
});

test("--jobs 2 runs two notebooks at once, tags their lines and reports in series order", async () => {
  const out = path.join(tmp, "jobs");
  const r = await runRunner(["throws", "ok", "--jobs", "2", "--keep-going", "--notebooks-dir", FIXTURES, "--output", out, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-jobs")}`]);
  assert.equal(r.code, 1, "one of the two fails");
  assert.match(r.stderr, /up to 2 notebooks at once/);
  assert.match(r.stderr, /\[ok\] cell 1\/\d+ ok/);
  assert.match(r.stderr, /\[throws\] kernel started/);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8")) as RunSummary;
  assert.deepEqual(summary.notebooks.map((n) => [n.notebook, n.status]), [["ok", "ok"], ["throws", "error"]]);
  assert.equal(summary.parameters.FMNIST_WASM_THREADS, "1", "one wasm thread per notebook when they share the cores");
  assert.match(r.stdout, /notebooks: 1 passed, 1 failed/);
});

test("SIGTERM to the runner kills the kernel", async () => {
  let kernelPid = 0;
  let signalled = false;
  const r = await runRunner(["hangs", "--notebooks-dir", FIXTURES, "--output", path.join(tmp, "sig"), "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-sig")}`, "--cell-timeout", "120"], (text, child) => {
    const m = /kernel started in .* \(pid (\d+)\)/.exec(text);
    if (m) kernelPid = Number(m[1]);
    // Cell 1 done means cell 2 (the hanging one) is running.
    if (!signalled && kernelPid && /cell 1\/3 ok/.test(text)) {
      signalled = true;
      assert.equal(isAlive(kernelPid), true, "kernel runs while the cell hangs");
      child.kill("SIGTERM");
    }
  });
  assert.ok(signalled, `runner reached the hanging cell:\n${r.stderr}`);
  assert.equal(r.code, 143);
  // The runner kills the group synchronously before exiting; allow the kernel a moment to be reaped.
  for (let i = 0; i < 50 && isAlive(kernelPid); i++) await new Promise((res) => setTimeout(res, 100));
  assert.equal(isAlive(kernelPid), false, `kernel pid ${kernelPid} is gone`);
});

test("the regression check passes against a baseline written by --update-baseline and fails on a changed or missing metric", async () => {
  const out = path.join(tmp, "check");
  const art = path.join(tmp, "art-check");
  const baseline = path.join(tmp, "baseline-quick.json");
  const common = ["ok", "--notebooks-dir", FIXTURES, "--output", out, "--set", `ARTIFACTS_DIR=${art}`, "--baseline", baseline];
  const first = await runRunner([...common, "--update-baseline"]);
  assert.equal(first.code, 0, first.stderr);
  const written = JSON.parse(fs.readFileSync(baseline, "utf8")) as { notebooks: Record<string, { metrics: Record<string, { value: number; kind: string; tol?: number }> }> };
  assert.equal(written.notebooks.ok.metrics["model.test_acc"].value, 0.9);

  // Shift the baseline's accuracy beyond its tolerance (same as the results changing) and drop-in a metric the notebook never writes.
  written.notebooks.ok.metrics["model.test_acc"].value = 0.95;
  written.notebooks.ok.metrics["model.other_acc"] = { value: 0.5, kind: "abs", tol: 0.02 };
  fs.writeFileSync(baseline, JSON.stringify(written));
  const second = await runRunner([...common, "--check"]);
  assert.equal(second.code, 1);
  assert.match(second.stdout, /model\.test_acc\s+0\.95\s+0\.9\s+-0\.05\s+±0\.02\s+FAIL/);
  assert.match(second.stdout, /model\.other_acc\s+0\.5\s+—\s+—\s+±0\.02\s+missing/);
  assert.match(second.stdout, /model\.val_loss\s+0\.3\s+0\.3\s+0\s+±15%\s+ok/);
  assert.match(second.stderr, /✗ regression\s+ok/);
});
