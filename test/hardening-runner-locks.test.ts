// Issue 16.5 and a smaller item of 16: concurrent runners never lose work silently (a second runner on one
// artifacts folder refuses, naming the holder; baseline updates merge under a lock), stale locks are taken over,
// and --update-baseline leaves the baseline file alone when no notebook produced results.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LockHeldError, tryLock } from "../scripts/runner/lock";
import { runnerHarness, type RunnerOutcome as Outcome } from "./helpers/runner-cli";
import { RUN_LOCK_FILE } from "../scripts/run-notebooks";

const REPO = path.resolve(__dirname, "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "runner-hardening");
const OLD_FIXTURES = path.join(REPO, "test", "fixtures", "notebooks");
const harness = runnerHarness("fmnist-hardening-locks-");
const { tmp } = harness;
const startRunner = harness.start;
after(harness.cleanup);

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

interface Baseline {
  updatedAt: string;
  recordedWith?: unknown;
  notebooks: Record<string, { metrics: Record<string, { value: number }> }>;
}

function readBaselineFile(file: string): Baseline {
  return JSON.parse(fs.readFileSync(file, "utf8")) as Baseline;
}

function seedBaseline(file: string): string {
  const text = JSON.stringify(
    {
      schema: 1,
      profile: "quick",
      updatedAt: "2020-01-01T00:00:00.000Z",
      recordedWith: { node: "v0", platform: "test", parameters: {} },
      notebooks: { "keep-me": { metrics: { "x.test_acc": { value: 0.5, kind: "abs", tol: 0.02 } } } },
    },
    null,
    2,
  ) + "\n";
  fs.writeFileSync(file, text);
  return text;
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

test("two runners with --update-baseline on one artifacts folder: the second refuses at once, naming the holder; nothing is lost", async () => {
  const art = path.join(tmp, "shared-art");
  const baseline = path.join(tmp, "shared-baseline.json");
  seedBaseline(baseline);
  const common = ["--notebooks-dir", FIXTURES, "--set", `ARTIFACTS_DIR=${art}`, "--baseline", baseline, "--update-baseline"];
  const first = startRunner(["results-a", ...common, "--output", path.join(tmp, "shared-out-a")]);
  assert.ok(await waitFor(() => fs.existsSync(path.join(art, RUN_LOCK_FILE)), 30_000), `first runner took the lock:\n${first.stderr()}`);
  const second = await startRunner(["results-b", ...common, "--output", path.join(tmp, "shared-out-b")]).done;
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`another runner is using ${art.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: pid ${first.child.pid} on ${os.hostname()}`));
  assert.match(second.stderr, /run-notebooks\.ts results-a/, "the message shows the holder's command");
  assert.doesNotMatch(second.stdout, /baseline updated/);

  const r1 = await first.done;
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /baseline updated: .*\(results-a\)/);
  const b = readBaselineFile(baseline);
  assert.deepEqual(Object.keys(b.notebooks).sort(), ["keep-me", "results-a"]);
  assert.equal(fs.existsSync(path.join(art, RUN_LOCK_FILE)), false, "the lock is released at the end");
});

test("two runners on separate folders update one baseline file at once: both entries and the older one are kept", async () => {
  const baseline = path.join(tmp, "merged-baseline.json");
  seedBaseline(baseline);
  const run = (nb: string) =>
    startRunner([nb, "--notebooks-dir", FIXTURES, "--set", `ARTIFACTS_DIR=${path.join(tmp, `art-${nb}`)}`, "--output", path.join(tmp, `out-${nb}`), "--baseline", baseline, "--update-baseline"]).done;
  const [a, b] = await Promise.all([run("results-a"), run("results-b")]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const merged = readBaselineFile(baseline);
  assert.deepEqual(Object.keys(merged.notebooks).sort(), ["keep-me", "results-a", "results-b"]);
  assert.equal(merged.notebooks["results-a"].metrics["model.test_acc"].value, 0.8);
  assert.equal(merged.notebooks["results-b"].metrics["model.test_acc"].value, 0.7);
  assert.equal(fs.existsSync(`${baseline}.lock`), false, "the baseline lock is released");
});

test("lock files: a dead runner's lock on this host is taken over; a live one's and another host's are respected", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "locks-"));
  const file = path.join(dir, RUN_LOCK_FILE);
  const owner = (pid: number, host = os.hostname()) =>
    JSON.stringify({ pid, host, started: "2020-01-01T00:00:00.000Z", command: "scripts/run-notebooks.ts other", token: "t0" });

  fs.writeFileSync(file, owner(deadPid()));
  const lock = tryLock(file);
  assert.equal(JSON.parse(fs.readFileSync(file, "utf8")).pid, process.pid, "stale lock taken over");
  assert.throws(() => tryLock(file), LockHeldError, "a held lock is not taken twice");
  lock.release();
  assert.equal(fs.existsSync(file), false);

  const sleeper = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    fs.writeFileSync(file, owner(sleeper.pid ?? 0));
    assert.throws(() => tryLock(file), (err: unknown) => err instanceof LockHeldError && new RegExp(`pid ${sleeper.pid} on ${os.hostname()}`).test(err.message));
    fs.writeFileSync(file, owner(deadPid(), `not-${os.hostname()}`));
    assert.throws(() => tryLock(file), LockHeldError, "another host's pid cannot be checked: respected");
    assert.match(fs.readFileSync(file, "utf8"), /not-/, "a respected lock is left as it was");
  } finally {
    sleeper.kill("SIGKILL");
  }
});

test("--update-baseline with a failing notebook leaves the baseline file byte for byte as it was", async () => {
  const baseline = path.join(tmp, "untouched-baseline.json");
  const before = seedBaseline(baseline);
  const r = await startRunner(["throws", "--notebooks-dir", OLD_FIXTURES, "--set", `ARTIFACTS_DIR=${path.join(tmp, "art-throws")}`, "--output", path.join(tmp, "out-throws"), "--baseline", baseline, "--update-baseline"]).done;
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /baseline NOT updated: no notebook ran to the end/);
  assert.doesNotMatch(r.stdout, /baseline updated/);
  assert.equal(fs.readFileSync(baseline, "utf8"), before, "updatedAt/recordedWith not restamped");
});
