// Issue 16.3: the kernel never outlives its runner, whatever ends the runner (SIGKILL included), and connection
// folders left by dead runners are removed at the next start.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CONNECTION_DIR_PREFIX, KernelClient, OWNER_FILE, cleanStaleConnectionDirs, isProcessAlive } from "../scripts/runner/kernel-client";

const REPO = path.resolve(__dirname, "..");
const FIXTURES = path.join(REPO, "test", "fixtures", "runner-hardening");
const RUNNER = path.join(REPO, "scripts", "run-notebooks.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-hardening-lifetime-"));
/** Every process this file starts, stopped in after() whatever happened. */
const started: ChildProcess[] = [];
const kernelPids: number[] = [];

after(() => {
  for (const c of started) if (c.pid && c.exitCode === null && c.signalCode === null) tryKill(c.pid);
  for (const pid of kernelPids) {
    tryKill(-pid);
    tryKill(pid);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function tryKill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/** Alive and not a zombie (an exited child waiting for its new parent, here PID 1, to reap it). */
function isRunning(pid: number): boolean {
  if (!isProcessAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return !fs.existsSync("/proc/self/stat"); // no procfs: trust kill(pid, 0)
  }
}

function connectionDirs(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith(CONNECTION_DIR_PREFIX));
}

test("SIGKILL to the runner while a cell blocks the kernel's main thread: kernel and connection folder are gone within seconds", async () => {
  const runnerTmp = fs.mkdtempSync(path.join(tmp, "tmpdir-"));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", RUNNER, "busy", "--notebooks-dir", FIXTURES, "--output", path.join(tmp, "out"), "--set", `ARTIFACTS_DIR=${path.join(tmp, "art")}`, "--cell-timeout", "300"],
    { cwd: REPO, env: { ...process.env, FMNIST_PROFILE: "", TMPDIR: runnerTmp }, stdio: ["ignore", "ignore", "pipe"] },
  );
  started.push(child);
  let stderr = "";
  child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));

  // Cell 1 done = cell 2 (a synchronous two-minute loop) is running.
  assert.ok(await waitFor(() => /cell 1\/3 ok/.test(stderr), 90_000), `runner reached the busy cell:\n${stderr}`);
  const kernelPid = Number(/kernel started in .* \(pid (\d+)\)/.exec(stderr)?.[1]);
  assert.ok(kernelPid > 0, stderr);
  kernelPids.push(kernelPid);
  assert.equal(isProcessAlive(kernelPid), true, "kernel runs the busy cell");
  assert.equal(connectionDirs(runnerTmp).length, 1, "the kernel's connection folder exists while it runs");

  const t0 = Date.now();
  child.kill("SIGKILL");
  assert.equal(await exited, "SIGKILL");
  const gone = await waitFor(() => !isRunning(kernelPid) && connectionDirs(runnerTmp).length === 0, 5000);
  const ms = Date.now() - t0;
  assert.ok(gone, `after SIGKILL to the runner: kernel ${kernelPid} running=${isRunning(kernelPid)}, connection folders ${connectionDirs(runnerTmp).join(", ") || "none"}`);
  // The number the closing note quotes: how long the kernel outlived its runner.
  console.log(`kernel stopped and connection folder removed ${ms} ms after SIGKILL to the runner`);
  // Reaped too (by PID 1, which may take a moment): no process left at all.
  assert.ok(await waitFor(() => !isProcessAlive(kernelPid), 5000), `kernel ${kernelPid} still exists (zombie not reaped)`);
});

test("stale connection folders: a dead owner's is removed, a live owner's, another host's and a fresh unowned one are kept", () => {
  const dir = fs.mkdtempSync(path.join(tmp, "stale-"));
  // A pid that certainly belonged to a process and is now dead: a child that has exited and been reaped.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  const deadPid = Number(dead.stdout);
  assert.ok(deadPid > 0 && !isProcessAlive(deadPid));
  const make = (name: string, owner?: object) => {
    const d = path.join(dir, CONNECTION_DIR_PREFIX + name);
    fs.mkdirSync(d, { mode: 0o700 });
    fs.writeFileSync(path.join(d, "kernel.json"), "{}", { mode: 0o600 });
    if (owner) fs.writeFileSync(path.join(d, OWNER_FILE), JSON.stringify(owner));
    return d;
  };
  const deadDir = make("dead", { pid: deadPid, host: os.hostname(), created: new Date().toISOString() });
  const liveDir = make("live", { pid: process.pid, host: os.hostname(), created: new Date().toISOString() });
  const otherHost = make("otherhost", { pid: deadPid, host: `not-${os.hostname()}`, created: new Date().toISOString() });
  const unowned = make("unowned");
  const oldUnowned = make("old-unowned");
  const dayAgo = new Date(Date.now() - 25 * 3600 * 1000);
  fs.utimesSync(oldUnowned, dayAgo, dayAgo);
  const notOurs = path.join(dir, "other-prefix");
  fs.mkdirSync(notOurs);

  const removed = cleanStaleConnectionDirs(dir);
  assert.deepEqual(removed.sort(), [deadDir, oldUnowned].sort());
  for (const kept of [liveDir, otherHost, unowned, notOurs]) assert.ok(fs.existsSync(kept), `${kept} kept`);
});

test("SIGINT still reaches tslab through the launcher: a hanging cell is interrupted and the kernel lives on", async () => {
  const kernel = await KernelClient.start({ cwd: FIXTURES, env: { ...process.env }, startTimeoutMs: 90_000 });
  kernelPids.push(kernel.pid);
  try {
    const hanging = kernel.execute("await new Promise(() => {});", { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500)); // let the cell start
    process.kill(kernel.pid, "SIGINT");
    const interrupted = await hanging;
    assert.equal(interrupted.status, "error");
    const stderr = interrupted.iopub.map((m) => String((m.content as { text?: string }).text ?? "")).join("");
    assert.match(stderr, /Interrupted asynchronously/);
    // tslab aborts requests that arrive within 200 ms of a failed one (stop_on_error): wait past that.
    await new Promise((r) => setTimeout(r, 500));
    const after = await kernel.execute("console.log(6 * 7);", { timeoutMs: 60_000 });
    assert.equal(after.status, "ok", "the kernel survives the interrupt");
    assert.equal(kernel.hasExited, false);
  } finally {
    await kernel.dispose();
  }
});
