/**
 * npm run gpu:check: is WebGPU usable here, and does it train like the cpu backend? Prints the
 * adapter, runs the training-equivalence check of test/backend-equivalence.test.ts (model 1 =
 * cnn_maxpool with Adam and `best` with SGD, a few steps from the same start weights, losses within
 * 1e-4 relative of cpu's), then the bench rows of
 * webgpu beside wasm. Exits 1 on a mismatch, 2 when no adapter is available.
 *
 *   npm run gpu:check                 # a hardware adapter (a GPU with a Vulkan/Metal/D3D12 driver)
 *   npm run gpu:check -- --software   # Mesa's software adapter (what CI tests)
 *   npm run gpu:check -- --no-bench   # only the adapter and the equivalence check
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { EQUIVALENCE_CASES, LOSS_RTOL, compare, cpuReference, runEquivalenceWorker } from "./backends/equivalence";

const USAGE = "usage: npm run gpu:check [-- --software] [--no-bench] [--steps N (default: the test's, 3)]";

function main(argv: string[]): number {
  let software = process.env.FMNIST_WEBGPU_ADAPTER === "software";
  let bench = true;
  let steps = 0;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--software") software = true;
    else if (a === "--no-bench") bench = false;
    else if (a === "--steps") {
      steps = Number(argv[++i]);
      if (!(Number.isInteger(steps) && steps >= 1 && steps <= 100)) {
        console.error(`--steps ${argv[i]}: a whole number from 1 to 100\n${USAGE}`);
        return 2;
      }
    } else if (a === "--help" || a === "-h") {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`unknown argument ${a}\n${USAGE}`);
      return 2;
    }
  }
  const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_WEBGPU_ADAPTER: software ? "software" : "hardware" };
  let failed = false;
  const rows: string[] = [];
  for (const c0 of EQUIVALENCE_CASES) {
    const spec = { ...c0, steps: steps || c0.steps };
    const model = spec.model;
    const gpu = runEquivalenceWorker({ ...spec, backend: "webgpu" }, env);
    if (gpu.unavailable) {
      console.error(`webgpu is not available: ${gpu.unavailable}`);
      return 2;
    }
    if (rows.length === 0) console.log(`adapter: ${gpu.adapter}\nbackend line: ${gpu.backendLine}\n`);
    const cpu = { losses: cpuReference(spec, env) };
    const c = compare(model, "webgpu", cpu.losses, gpu.losses!);
    failed ||= !c.ok;
    rows.push(`${model.padEnd(12)} ${c.ok ? "OK      " : "MISMATCH"} largest relative loss difference ${c.maxRelDiff.toExponential(2)} (allowed ${LOSS_RTOL}); ` +
      `cpu ${cpu.losses!.map((x) => x.toFixed(5)).join(" ")} | webgpu ${gpu.losses!.map((x) => x.toFixed(5)).join(" ")}; ` +
      `webgpu ms/step ${gpu.msPerStep!.map((x) => x.toFixed(0)).join(" ")} (the first compiles the shaders)`);
    console.log(rows[rows.length - 1]);
  }
  if (bench) {
    console.log("\nbench (model 1 and 3, batch 32): webgpu beside wasm");
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "bench.ts"), "--models", "1,3", "--batch-sizes", "32", "--batches", software ? "5" : "20", "--no-peers"], { stdio: "inherit", env });
    if (r.status !== 0) {
      console.error(`the bench failed (exit ${r.status ?? r.signal})`);
      failed = true;
    }
  }
  console.log(failed ? "\ngpu:check FAILED" : "\ngpu:check passed: webgpu trains like cpu on this adapter");
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
