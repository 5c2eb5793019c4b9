/**
 * `npm run bench -- --scaling`: what a second wasm thread buys, model by model, and where it does not.
 * Issue 17 asks 2-thread/1-thread ≥ 1.8× (models 2, 3, best at batch 128) and ≥ 1.5× (model 1 at 128)
 * where the first bench showed +7% / +6% / +19%. Every (model, batch, threads) row runs in its own
 * child process (the thread count is fixed when the backend starts) pinned to as many cores as
 * threads, 1- and 2-thread rows interleaved in rounds (median and range: the machine is shared), and
 * each child also times every kernel for a few steps, so the table shows per kernel which ones halve
 * on two threads and which stay serial.
 *
 * On a shared machine another process's threads stretch wall times (the issue's runs saw load 2–12
 * on 2 cores; at load 5 a one-thread step spent 394 of 656 ms waiting in the run queue). So beside
 * wall time every figure is also given "on a core": wall less the calling thread's run-queue wait
 * (Linux schedstat). Time the calling thread spends waiting for a helper still counts, so this is
 * an upper bound of a quiet machine's step, and the ratio of those a fair estimate of its scaling.
 *
 * Usage: npm run bench -- --scaling [--models 1,2,3,best] [--batch-sizes 32,128] [--repeats 3] [--batches 10]
 * [--trees A,B]: the same rows from other checkouts too (A, B: their root folders), interleaved with
 * this one's, to compare a change before and after within one run.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel } from "@tensorflow/tfjs";
import { median } from "./format";

const REPO = path.resolve(__dirname, "..", "..");

export interface ScalingSpec { model: string; batch: number; threads: number; warmup: number; steps: number; profileSteps: number }
/**
 * One child's result: samples/s and ms per step (wall), this thread's run-queue wait and time on a
 * core per step, the other threads' time on a core, and per kernel the wall and run-queue ms per step.
 */
export interface ScalingRun {
  spec: ScalingSpec; samplesPerSec: number; msPerStep: number; stepMs: number; waitMs: number; runMs: number; othersRunMs: number;
  kernels: Record<string, { ms: number; waitMs: number; calls: number }>;
}

/** The bench's models 1–3 (scripts/bench.ts) and the registry's `best`. */
async function buildModel(name: string): Promise<LayersModel> {
  const tf = await import("@tensorflow/tfjs");
  const fm = await import("../../lib/src/index");
  if (name === "1") return fm.buildModel("cnn_maxpool", { seed: 1 });
  if (name === "2") return fm.buildModel("cnn64", { seed: 1 });
  if (name === "best") return fm.buildModel("best", { seed: 1 });
  let seed = 10;
  const conv = (filters: number, first = false) =>
    tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", ...(first ? { inputShape: [28, 28, 1] } : {}), kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) });
  const m = tf.sequential({
    layers: [
      conv(32, true), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }), conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(),
      tf.layers.dense({ units: 256, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }),
      new fm.SeededDropout({ rate: 0.5, seed: 3 }),
      tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }),
    ],
  });
  m.compile({ optimizer: fm.makeOptimizer("adam", 1e-3), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  return m;
}

/** This thread's time on a core and waiting in the run queue so far (ms; Linux schedstat, else zeros). */
function schedstat(file = "/proc/thread-self/schedstat"): { run: number; wait: number } {
  try {
    const [run, wait] = fs.readFileSync(file, "utf8").split(" ").map(Number);
    return { run: run / 1e6, wait: wait / 1e6 };
  } catch {
    return { run: 0, wait: 0 };
  }
}

/** Time on a core of every thread of this process but the calling one (helpers, XNNPACK's pool), ms. */
function otherThreadsRun(): number {
  let sum = 0;
  try {
    for (const t of fs.readdirSync("/proc/self/task")) if (Number(t) !== process.pid) sum += schedstat(`/proc/self/task/${t}/schedstat`).run;
  } catch {
    // not Linux
  }
  return sum;
}

/**
 * Wraps every wasm kernel so that each outermost call adds its wall time and this thread's
 * run-queue wait to `into` (by kernel name). Wall minus run-queue wait is the time the kernel
 * took with this thread on a core, the part another process on the machine cannot stretch
 * (a helper that was descheduled still counts while this thread waits for it).
 */
async function wrapKernels(into: ScalingRun["kernels"]): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  let depth = 0;
  for (const k of tf.getKernelsForBackend("wasm")) {
    const inner = k.kernelFunc;
    const kernelFunc: typeof inner = (args) => {
      if (depth++ > 0) {
        try { return inner(args); } finally { depth--; }
      }
      const [t, q] = [performance.now(), schedstat().wait];
      try {
        return inner(args);
      } finally {
        depth--;
        const a = (into[k.kernelName] ??= { ms: 0, waitMs: 0, calls: 0 });
        a.ms += performance.now() - t;
        a.waitMs += schedstat().wait - q;
        a.calls += 1;
      }
    };
    tf.unregisterKernel(k.kernelName, "wasm");
    tf.registerKernel({ ...k, kernelFunc });
  }
}

/** Child process: one row (wall and this thread's run-queue wait per step), then `profileSteps` steps with every kernel timed. */
export async function scalingWorker(spec: ScalingSpec): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const fm = await import("../../lib/src/index");
  await fm.initBackend("wasm");
  const model = await buildModel(spec.model);
  const xs = tf.randomNormal([spec.batch, 28, 28, 1], 0, 1, "float32", 7);
  const ys = tf.tidy(() => tf.floor(tf.randomUniform([spec.batch], 0, 10, "float32", 8)));
  for (let i = 0; i < spec.warmup; i++) await model.trainOnBatch(xs, ys);
  const [t0, s0, o0] = [performance.now(), schedstat(), otherThreadsRun()];
  for (let i = 0; i < spec.steps; i++) await model.trainOnBatch(xs, ys);
  const msPerStep = (performance.now() - t0) / spec.steps;
  const [s1, o1] = [schedstat(), otherThreadsRun()];
  const kernels: ScalingRun["kernels"] = {};
  await wrapKernels(kernels);
  const t1 = performance.now();
  for (let i = 0; i < spec.profileSteps; i++) await model.trainOnBatch(xs, ys);
  const stepMs = (performance.now() - t1) / spec.profileSteps;
  for (const k of Object.values(kernels)) for (const f of ["ms", "waitMs", "calls"] as const) k[f] /= spec.profileSteps;
  const run: ScalingRun = {
    spec, samplesPerSec: (spec.batch * 1000) / msPerStep, msPerStep, stepMs, kernels,
    waitMs: (s1.wait - s0.wait) / spec.steps, runMs: (s1.run - s0.run) / spec.steps, othersRunMs: (o1 - o0) / spec.steps,
  };
  process.stdout.write(`@@ ${JSON.stringify(run)}\n`);
}

function runChild(spec: ScalingSpec, tree = REPO): ScalingRun {
  const cores = Array.from({ length: spec.threads }, (_, i) => i % os.cpus().length).join(",");
  const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: String(spec.threads) };
  delete env.FMNIST_BACKEND;
  const r = spawnSync("taskset", ["-c", cores, process.execPath, "--import", "tsx", path.join(tree, "scripts", "bench", "scaling.ts"), "--worker", JSON.stringify(spec)], { cwd: tree, env, encoding: "utf8", maxBuffer: 64 << 20, timeout: 10 * 60_000 });
  const line = r.stdout?.split("\n").find((l) => l.startsWith("@@ "));
  if (!line) throw new Error(`scaling worker failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim().split("\n").slice(-6).join("\n")}`);
  return JSON.parse(line.slice(3)) as ScalingRun;
}

const f1 = (x: number): string => x.toFixed(1);

/** A kernel's time per step with this thread on a core: wall less run-queue wait. */
const onCore = (k: { ms: number; waitMs: number } | undefined): number => (k ? k.ms - k.waitMs : 0);
/** A step's time with the calling thread on a core: wall less its run-queue wait. */
export const stepOnCore = (r: ScalingRun): number => r.msPerStep - r.waitMs;

/**
 * The per-kernel table of one (model, batch): median ms per step at 1 and 2 threads (wall less the
 * calling thread's run-queue wait) and their ratio, hottest first; kernels that stay near 1× are the serial part.
 */
export function kernelTable(one: ScalingRun[], two: ScalingRun[], top = 14): string[] {
  const names = new Set([...one, ...two].flatMap((r) => Object.keys(r.kernels)));
  const med = (runs: ScalingRun[], n: string): number => median(runs.map((r) => onCore(r.kernels[n])));
  const rows = [...names].map((n) => ({ n, a: med(one, n), b: med(two, n), calls: Math.round(one[0]?.kernels[n]?.calls ?? 0) })).sort((x, y) => y.a - x.a);
  const sum = (runs: ScalingRun[]): number => median(runs.map((r) => Object.values(r.kernels).reduce((s, k) => s + onCore(k), 0)));
  const out = ["| kernel | calls | 1t ms | 2t ms | 1t/2t |", "| --- | ---: | ---: | ---: | ---: |"];
  for (const r of rows.slice(0, top)) out.push(`| ${r.n} | ${r.calls} | ${f1(r.a)} | ${f1(r.b)} | ${r.b > 0 ? (r.a / r.b).toFixed(2) : "–"}× |`);
  const rest = rows.slice(top);
  if (rest.length) out.push(`| ${rest.length} others | | ${f1(rest.reduce((s, r) => s + r.a, 0))} | ${f1(rest.reduce((s, r) => s + r.b, 0))} | |`);
  const [k1, k2] = [sum(one), sum(two)];
  const [w1, w2] = [median(one.map(stepOnCore)), median(two.map(stepOnCore))];
  out.push(`| all kernels | | ${f1(k1)} | ${f1(k2)} | ${(k1 / k2).toFixed(2)}× |`);
  out.push(`| step (timed steps, on a core) | | ${f1(w1)} | ${f1(w2)} | ${(w1 / w2).toFixed(2)}× |`);
  out.push(`| calling thread on a core / other threads on a core | | ${f1(median(one.map((r) => r.runMs)))} / ${f1(median(one.map((r) => r.othersRunMs)))} | ${f1(median(two.map((r) => r.runMs)))} / ${f1(median(two.map((r) => r.othersRunMs)))} | |`);
  return out;
}

export function scalingMain(argv: string[]): number {
  const get = (flag: string, dflt: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
  };
  const models = get("--models", "1,2,3,best").split(",");
  const batches = get("--batch-sizes", "32,128").split(",").map(Number);
  const repeats = Number(get("--repeats", "3"));
  const steps = Number(get("--batches", "10"));
  const load0 = os.loadavg();
  const trees = [REPO, ...(argv.includes("--trees") ? get("--trees", "").split(",").filter(Boolean).map((t) => path.resolve(t)) : [])];
  const label = (t: string): string => (t === REPO ? "this checkout" : t);
  const results: Array<{ tree: string; model: string; batch: number; one: ScalingRun[]; two: ScalingRun[] }> = [];
  for (const model of models) {
    for (const batch of batches) {
      const groups = trees.map((tree) => ({ tree, model, batch, one: [] as ScalingRun[], two: [] as ScalingRun[] }));
      for (let r = 0; r < repeats; r++) {
        // Rotated order: 1t first in even rounds, 2t first in odd ones; the checkouts in turn within a thread count.
        for (const threads of r % 2 ? [2, 1] : [1, 2]) {
          for (const g of r % 2 ? [...groups].reverse() : groups) {
            const run = runChild({ model, batch, threads, warmup: 2, steps, profileSteps: 2 }, g.tree);
            (threads === 1 ? g.one : g.two).push(run);
            console.log(`${label(g.tree)}: model ${model} batch ${batch} ${threads}t round ${r + 1}: ${run.samplesPerSec.toFixed(0)} samples/s (load ${os.loadavg()[0].toFixed(1)})`);
          }
        }
      }
      results.push(...groups);
    }
  }
  console.log("\n2-thread / 1-thread, median samples/s (range):");
  for (const g of results) {
    const s1 = g.one.map((r) => r.samplesPerSec);
    const s2 = g.two.map((r) => r.samplesPerSec);
    const rng = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    const c = (runs: ScalingRun[]): number => median(runs.map(stepOnCore));
    console.log(`  ${trees.length > 1 ? `${label(g.tree)}: ` : ""}model ${g.model}, batch ${g.batch}: 1t ${median(s1).toFixed(0)} (${rng(s1)}), 2t ${median(s2).toFixed(0)} (${rng(s2)}): ${(median(s2) / median(s1)).toFixed(2)}×; ` +
      `on a core (wall less run-queue wait): ${f1(c(g.one))} / ${f1(c(g.two))} ms per step, ${(c(g.one) / c(g.two)).toFixed(2)}×`);
  }
  for (const g of results) console.log(`\n${trees.length > 1 ? `${label(g.tree)}: ` : ""}model ${g.model}, batch ${g.batch}: ms per step with the calling thread on a core (wall less run-queue wait), median of ${repeats} runs × 2 steps\n${kernelTable(g.one, g.two).join("\n")}`);
  console.log(`\nload average: start ${load0.map(f1).join(" ")}, end ${os.loadavg().map(f1).join(" ")} on ${os.cpus().length} cores`);
  return 0;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") {
    scalingWorker(JSON.parse(argv[1]) as ScalingSpec).catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    });
  } else process.exitCode = scalingMain(argv);
}
