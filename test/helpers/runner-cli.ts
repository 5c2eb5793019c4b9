// Runs the notebook runner CLI in child processes for the hardening tests: each in a private temp folder (its
// TMPDIR too, so the kernels' connection folders land there), stopped with SIGTERM at the end if still running.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const REPO = path.resolve(__dirname, "..", "..");
const RUNNER = path.join(REPO, "scripts", "run-notebooks.ts");

export interface RunnerOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunnerHarness {
  /** Private folder for this test file; removed by {@link RunnerHarness.cleanup}. */
  tmp: string;
  /** The runners' TMPDIR. */
  runnerTmp: string;
  /** Starts a runner; `done` resolves when it exits. */
  start(args: string[], env?: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<RunnerOutcome>; stderr: () => string };
  /** Runs a runner to its end. */
  run(args: string[], env?: NodeJS.ProcessEnv): Promise<RunnerOutcome>;
  /** SIGTERM to runners still running (their handler stops their kernels), then removes `tmp`. */
  cleanup(): void;
}

export function runnerHarness(prefix: string): RunnerHarness {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const runnerTmp = fs.mkdtempSync(path.join(tmp, "tmpdir-"));
  const started: ChildProcess[] = [];
  const start: RunnerHarness["start"] = (args, env = {}) => {
    const child = spawn(process.execPath, ["--import", "tsx", RUNNER, ...args], {
      cwd: REPO,
      env: { ...process.env, FMNIST_PROFILE: "", FMNIST_ARTIFACTS_DIR: "", TMPDIR: runnerTmp, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child);
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
    const done = new Promise<RunnerOutcome>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
    return { child, done, stderr: () => stderr };
  };
  return {
    tmp,
    runnerTmp,
    start,
    run: (args, env) => start(args, env).done,
    cleanup: () => {
      for (const c of started) {
        if (c.pid && c.exitCode === null && c.signalCode === null) {
          try {
            c.kill("SIGTERM");
          } catch {
            // gone
          }
        }
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}
