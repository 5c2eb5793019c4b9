/**
 * `npm run bench`: training throughput of the reference CNNs on each TensorFlow.js backend
 * configuration, side by side with PyTorch (when python3 has torch) in one run, as a table with
 * ratios and the issue's targets; results also go to artifacts/bench/bench-<time>.json.
 *
 * Every (backend, model, batch size) row runs in its own child process (`--worker <json>`, one
 * JSON line back): kernel registration is process-wide ("wasm-minimal" = FMNIST_WASM_KERNELS=minimal,
 * only what wasm needs to train at all: the "before" column), and a fresh process gives each row
 * its own peak RSS. Rows of one (model, batch) run back to back, ours and PyTorch's interleaved, so
 * the ratios compare measurements taken close together on this shared machine.
 *
 * Flags: see USAGE in scripts/bench/format.ts (`npm run bench -- --help`).
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel } from "@tensorflow/tfjs";
import { writeFileAtomic } from "../lib/src/io";
import {
  batchesFor, checkTargets, firstLine, formatTable, MODEL_LEGEND, parseBenchArgs, ratioTo, speedupOver, TARGET_BATCH, TARGETS, tensorflowReason, topKernels, USAGE,
  type BenchOptions, type BenchRow,
} from "./bench/format";

export { batchesFor, checkTargets, formatTable, MODEL_LEGEND, parseBenchArgs, ratioTo, speedupOver, TARGETS, tensorflowReason, topKernels };
export type { BenchOptions, BenchRow };

const REPO = path.resolve(__dirname, "..");
const INPUTS = "random normal images [B,28,28,1] (seed 7) and uniform random labels 0–9 (seed 8); the same batch every step";
/** Per-child time limit: one row must not hang the whole run. */
const CHILD_TIMEOUT_MS = { default: 5 * 60_000, cpu: 20 * 60_000 };

/** What a worker is asked to do: one row, or only probe whether a backend initialises. */
interface WorkerSpec {
  backend: string;
  model?: number;
  batch?: number;
  warmup?: number;
  steps?: number;
  profile?: boolean;
  probe?: boolean;
}

interface ProfileEntry { model: number; batch: number; stepMs: number; kernelMs: number; top: ReturnType<typeof topKernels> }
interface WorkerResult { info?: Record<string, unknown>; row?: BenchRow; profile?: ProfileEntry; unavailable?: string }

// ---------------------------------------------------------------- worker (child process)

async function worker(spec: WorkerSpec): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const fm = await import("../lib/src/index");
  const emit = (r: WorkerResult): void => void process.stdout.write(`@@ ${JSON.stringify(r)}\n`);
  // Columns are backends with a setting: wasm-2t, wasm-minimal, tensorflow-1t, tensorflow-2t.
  const request = spec.backend.startsWith("wasm") ? "wasm" : spec.backend.replace(/-\d+t$/, "");
  let info;
  try {
    info = await fm.initBackend(request as Parameters<typeof fm.initBackend>[0]);
  } catch (err) {
    if (spec.probe) return emit({ unavailable: (err as Error).message });
    throw err;
  }
  emit({ info: info as unknown as Record<string, unknown> });
  if (spec.probe) return;
  const k = spec.model!;
  const bs = spec.batch!;

  const build = (): LayersModel => {
    if (k === 1) return fm.buildModel("cnn_maxpool", { seed: 1 });
    if (k === 2) return fm.buildModel("cnn64", { seed: 1 });
    let seed = 10;
    const conv = (filters: number, first = false) =>
      tf.layers.conv2d({
        filters, kernelSize: 3, padding: "same", activation: "relu", ...(first ? { inputShape: [28, 28, 1] } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }),
      });
    const m = tf.sequential({
      name: "deep_cnn",
      layers: [
        conv(32, true), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }),
        conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 256, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }),
        new fm.SeededDropout({ rate: 0.5, seed: 3 }),
        tf.layers.dense({ units: 10, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) }),
      ],
    });
    m.compile({ optimizer: fm.makeOptimizer("adam", 1e-3), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    return m;
  };

  const model = build();
  const xs = tf.randomNormal([bs, 28, 28, 1], 0, 1, "float32", 7);
  const ys = tf.tidy(() => tf.floor(tf.randomUniform([bs], 0, 10, "float32", 8)));
  // trainOnBatch reads the loss back, so each step has finished when its promise resolves. On webgpu
  // the warm-up steps also compile every shader (the timed steps reuse them).
  for (let i = 0; i < spec.warmup!; i++) await model.trainOnBatch(xs, ys);
  const t0 = performance.now();
  for (let i = 0; i < spec.steps!; i++) await model.trainOnBatch(xs, ys);
  const ms = (performance.now() - t0) / spec.steps!;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  emit({
    row: { model: k, backend: spec.backend, batch: bs, threads: info.threads || Number(/-(\d+)t$/.exec(spec.backend)?.[1] ?? 1), warmup: spec.warmup, steps: spec.steps, msPerStep: ms, samplesPerSec: (bs * 1000) / ms, peakRssMb },
  });
  if (spec.profile) {
    const t1 = performance.now();
    const p = await tf.profile(async () => {
      await model.trainOnBatch(xs, ys);
    });
    const stepMs = performance.now() - t1;
    const kernels = p.kernels.map((kk) => ({ name: kk.name, kernelTimeMs: kk.kernelTimeMs as number | { error: string } }));
    const kernelMs = kernels.reduce((s, kk) => s + (typeof kk.kernelTimeMs === "number" ? kk.kernelTimeMs : 0), 0);
    emit({ profile: { model: k, batch: bs, stepMs, kernelMs, top: topKernels(kernels, 8) } });
  }
  fm.disposeModel(model);
  tf.dispose([xs, ys]);
}

// ---------------------------------------------------------------- orchestration (parent)

function tail(s: string, n = 12): string {
  return s.trimEnd().split("\n").slice(-n).join("\n");
}

function runWorker(spec: WorkerSpec, env: NodeJS.ProcessEnv): WorkerResult[] {
  // cpu, and webgpu on a software adapter (seconds per step for model 3), get the long limit.
  const timeout = spec.backend === "cpu" || spec.backend === "webgpu" ? CHILD_TIMEOUT_MS.cpu : CHILD_TIMEOUT_MS.default;
  const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--worker", JSON.stringify(spec)], {
    cwd: REPO, env, encoding: "utf8", maxBuffer: 64 << 20, timeout, killSignal: "SIGKILL",
  });
  if (r.error) throw new Error(`${r.error.message}${(r.error as NodeJS.ErrnoException).code === "ETIMEDOUT" ? ` (time limit ${timeout / 1000} s)` : ""}`);
  if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}:\n${tail(r.stderr || r.stdout)}`);
  const out = r.stdout.split("\n").filter((l) => l.startsWith("@@ ")).map((l) => JSON.parse(l.slice(3)) as WorkerResult);
  if (!out.length) throw new Error(`no result line from the worker:\n${tail(r.stderr || r.stdout)}`);
  return out;
}

interface Torch { python: string; version: string }

/** /usr/bin/python3 first (Debian's python3-torch), then python3 on PATH; the reason when neither has torch. */
function findTorch(): Torch | { skipped: string } {
  const reasons: string[] = [];
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 120_000 });
    if (r.status === 0) return { python: py, version: r.stdout.trim() };
    reasons.push(`${py}: ${r.error ? r.error.message : firstLine(tail(r.stderr, 1))}`);
  }
  return { skipped: `${reasons.join("; ")} (on Debian: apt-get install python3-torch)` };
}

function runTorch(t: Torch, model: number, batch: number, threads: number, warmup: number, steps: number): BenchRow {
  const args = [path.join(__dirname, "bench_torch.py"), "--threads", String(threads), "--models", String(model), "--batch-sizes", String(batch), "--warmup", String(warmup), "--steps", String(steps)];
  const r = spawnSync(t.python, args, { encoding: "utf8", timeout: CHILD_TIMEOUT_MS.default, killSignal: "SIGKILL" });
  if (r.error) throw new Error(r.error.message);
  if (r.status !== 0) throw new Error(`bench_torch.py exit ${r.status ?? r.signal}:\n${tail(r.stderr)}`);
  const j = JSON.parse(r.stdout.trim().split("\n").pop()!) as BenchRow;
  return { model, backend: `pytorch-${threads}t`, batch, threads, warmup, steps, msPerStep: j.msPerStep, samplesPerSec: j.samplesPerSec, peakRssMb: j.peakRssMb };
}

function gitCommit(): { commit?: string; dirty?: boolean } {
  const c = spawnSync("git", ["rev-parse", "HEAD"], { cwd: REPO, encoding: "utf8" });
  if (c.status !== 0) return {};
  const s = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: REPO, encoding: "utf8" });
  return { commit: c.stdout.trim(), dirty: s.status === 0 ? s.stdout.trim() !== "" : undefined };
}

function main(argv: string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const o = parseBenchArgs(argv);
  const t0 = Date.now();
  const failures: Array<{ what: string; error: string }> = [];
  const backendInfo: Record<string, unknown> = {};

  // Which columns: wasm (our kernels) and wasm-minimal always, cpu behind --cpu, tfjs-node when it loads.
  const envFor = (b: string): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.FMNIST_BACKEND;
    delete env.FMNIST_WASM_KERNELS;
    delete env.FMNIST_WASM_THREADS;
    if (b === "wasm") Object.assign(env, { FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: "1" });
    else if (b === "wasm-2t") Object.assign(env, { FMNIST_WASM_KERNELS: "fast", FMNIST_WASM_THREADS: "2" });
    else if (b === "wasm-minimal") Object.assign(env, { FMNIST_WASM_KERNELS: "minimal", FMNIST_WASM_THREADS: "1" });
    else if (b.startsWith("tensorflow-")) {
      // TensorFlow's own thread pools (read by libtensorflow when its context is created).
      Object.assign(env, { TF_NUM_INTRAOP_THREADS: b.slice("tensorflow-".length, -1), TF_NUM_INTEROP_THREADS: "1" });
    }
    return env;
  };
  // "wasm-2t": the same kernels on the threaded XNNPACK build with two threads (both cores here).
  const backends = os.cpus().length >= 2 ? ["wasm", "wasm-2t", "wasm-minimal"] : ["wasm", "wasm-minimal"];
  let tensorflowStatus: string;
  try {
    const probe = runWorker({ backend: "tensorflow", probe: true }, envFor("tensorflow"));
    const un = probe.find((p) => p.unavailable)?.unavailable;
    if (un) tensorflowStatus = `not available: ${tensorflowReason(un)}`;
    else {
      tensorflowStatus = "available";
      backendInfo.tensorflow = probe.find((p) => p.info)?.info;
      backends.push(...(os.cpus().length >= 2 ? ["tensorflow-1t", "tensorflow-2t"] : ["tensorflow-1t"]));
    }
  } catch (err) {
    tensorflowStatus = `not available: probe failed (${firstLine((err as Error).message)})`;
  }
  console.log(`tensorflow (tfjs-node): ${tensorflowStatus}`);
  // webgpu when an adapter exists (a hardware one; FMNIST_WEBGPU_ADAPTER=software for Mesa's on the CPU).
  let webgpuSoftware = false;
  try {
    const probe = runWorker({ backend: "webgpu", probe: true }, envFor("webgpu"));
    const un = probe.find((p) => p.unavailable)?.unavailable;
    if (un) console.log(`webgpu: not available: ${firstLine(un.replace(/^Backend "webgpu" was requested but /, ""))}`);
    else {
      const info = probe.find((p) => p.info)?.info as { reason?: string; adapter?: { software?: boolean } } | undefined;
      backendInfo.webgpu = info;
      webgpuSoftware = Boolean(info?.adapter?.software);
      console.log(`webgpu: ${info?.reason ?? "available"}${webgpuSoftware ? " (a software adapter: correctness only, at most 5 timed batches)" : ""}`);
      backends.push("webgpu");
    }
  } catch (err) {
    console.log(`webgpu: not available: probe failed (${firstLine((err as Error).message)})`);
  }
  if (o.cpu) backends.push("cpu");

  const torch = findTorch();
  const torchThreads = [1, 2];
  if ("skipped" in torch) console.log(`PyTorch: skipped, no python3 can import torch (${torch.skipped}); printing ours only.`);
  else console.log(`PyTorch ${torch.version} (${torch.python}): rows on ${torchThreads.join(" and ")} threads, same warm-up/timed batches as wasm.`);

  type Job = { label: string; run: () => BenchRow };
  const rows: BenchRow[] = [];
  const torchRows: BenchRow[] = [];
  const profiles: ProfileEntry[] = [];
  const jobs: Job[] = [];
  for (const model of o.models) {
    for (const batch of o.batchSizes) {
      for (const b of backends) {
        const n = batchesFor(b, o);
        if (b === "webgpu") {
          n.warmup = Math.max(1, n.warmup); // shader compilation stays out of the timed steps
          if (webgpuSoftware) n.steps = Math.min(n.steps, 5);
        }
        // Torch right after wasm, so the compared pair is measured back to back.
        const ourJob: Job = {
          label: `model ${model} · ${b} · batch ${batch} (${n.warmup} warm-up + ${n.steps} timed)`,
          run: () => {
            const profile = o.profile && b === "wasm" && batch === o.batchSizes[0];
            const out = runWorker({ backend: b, model, batch, warmup: n.warmup, steps: n.steps, profile }, envFor(b));
            const info = out.find((x) => x.info)?.info;
            if (info && !backendInfo[b]) backendInfo[b] = info;
            const row = out.find((x) => x.row)?.row;
            if (!row) throw new Error("the worker returned no row");
            rows.push(row);
            const p = out.find((x) => x.profile)?.profile;
            if (p) profiles.push(p);
            return row;
          },
        };
        jobs.push(ourJob);
        const torchAfter = backends.includes("wasm-2t") ? "wasm-2t" : "wasm";
        if (b === torchAfter && !("skipped" in torch)) {
          for (const threads of torchThreads) {
            jobs.push({
              label: `model ${model} · pytorch-${threads}t · batch ${batch} (${o.warmup} warm-up + ${o.steps} timed)`,
              run: () => {
                const row = runTorch(torch, model, batch, threads, o.warmup, o.steps);
                torchRows.push(row);
                return row;
              },
            });
          }
        }
      }
    }
  }

  jobs.forEach((job, i) => {
    const started = Date.now();
    process.stdout.write(`[${i + 1}/${jobs.length}] ${job.label}… `);
    try {
      const last = job.run();
      console.log(`${last.samplesPerSec.toFixed(0)} samples/s, ${last.msPerStep.toFixed(1)} ms/step (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      console.log("FAILED");
      failures.push({ what: job.label, error: (err as Error).message });
      console.error(`  ${(err as Error).message.split("\n").join("\n  ")}`);
    }
  });

  console.log(`\n${formatTable(rows, torchRows)}\n`);
  console.log("Models:");
  for (const m of o.models) console.log(`  ${m}: ${MODEL_LEGEND[m]}`);
  console.log(`Inputs: ${INPUTS}. Optimizer: Adam, lr 1e-3 (lib's makeOptimizer: the fused update on wasm), sparse categorical cross-entropy (PyTorch: CrossEntropyLoss on logits).`);
  console.log("Threads: wasm and wasm-minimal run on one thread; wasm-2t on two (the threaded XNNPACK build, see lib/src/backend/wasm-threads.ts); PyTorch rows use torch.set_num_threads(1) and (2). Ratios compare equal thread counts.");
  console.log(`Batches: wasm and PyTorch ${o.warmup} warm-up + ${o.steps} timed; wasm-minimal ${batchesFor("wasm-minimal", o).warmup} + ${batchesFor("wasm-minimal", o).steps}${o.cpu ? `; cpu ${batchesFor("cpu", o).warmup} + ${batchesFor("cpu", o).steps}` : ""}. Peak RSS: each row's own process (maxRSS).`);
  console.log(`tensorflow (tfjs-node): ${tensorflowStatus}`);

  const targets = checkTargets(rows, torchRows, o.models);
  console.log(`\nTargets (wasm, batch ${TARGET_BATCH}, samples/s over PyTorch on 1 thread):`);
  for (const t of targets) {
    console.log(`  model ${t.model}: ≥ ${t.target}×  ${t.ratio === undefined ? "n/a" : `${t.ratio.toFixed(2)}×`}  ${t.verdict}${t.verdict === "n/a" ? ("skipped" in torch ? " (PyTorch skipped)" : " (row missing)") : ""}`);
  }
  if (!o.batchSizes.includes(TARGET_BATCH)) console.log(`  (batch ${TARGET_BATCH} was not run: no target check)`);
  const twoThreads = o.models.map((model) => {
    const ours = rows.find((r) => r.backend === "wasm-2t" && r.model === model && r.batch === TARGET_BATCH);
    return { model, ratio: ours ? ratioTo(ours, torchRows) : undefined };
  }).filter((x) => x.ratio !== undefined);
  if (twoThreads.length) {
    console.log(`Both cores (wasm-2t over PyTorch on 2 threads, batch ${TARGET_BATCH}; stretch goal for model 1: parity): ${twoThreads.map((x) => `model ${x.model} ${x.ratio!.toFixed(2)}×`).join(", ")}`);
  }

  if (profiles.length) {
    console.log("\nHottest kernels of one wasm training step (tf.profile, kernelTimeMs summed by kernel name):");
    for (const p of profiles) {
      console.log(`  model ${p.model}, batch ${p.batch}: step ${p.stepMs.toFixed(1)} ms wall, ${p.kernelMs.toFixed(1)} ms in kernels`);
      for (const k of p.top) console.log(`    ${k.name.padEnd(24)} ${k.ms.toFixed(2).padStart(8)} ms  ${(k.share * 100).toFixed(1).padStart(5)}%  ${String(k.calls).padStart(3)} calls`);
    }
  }

  const stamp = new Date().toISOString();
  const file = path.join(REPO, "artifacts", "bench", `bench-${stamp.replace(/[:.]/g, "-")}.json`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tfjsVersion = (require("@tensorflow/tfjs/package.json") as { version: string }).version;
  const runtimeSec = (Date.now() - t0) / 1000;
  const json = {
    date: stamp,
    ...gitCommit(),
    node: process.version,
    tfjs: tfjsVersion,
    backends: backendInfo,
    tensorflow: tensorflowStatus,
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    torch: "skipped" in torch ? { skipped: torch.skipped } : { version: torch.version, python: torch.python, threads: torchThreads },
    options: o,
    inputs: INPUTS,
    models: Object.fromEntries(o.models.map((m) => [m, MODEL_LEGEND[m]])),
    rows: rows.map((r) => ({ ...r, ratioToTorch: ratioTo(r, torchRows), speedupOverMinimal: r.backend.startsWith("wasm") && r.backend !== "wasm-minimal" ? speedupOver(r, rows, "wasm-minimal") : undefined })),
    torchRows,
    targets,
    profiles,
    failures,
    runtimeSec,
  };
  writeFileAtomic(file, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nresults: ${path.relative(REPO, file)}`);
  console.log(`total runtime: ${runtimeSec.toFixed(0)} s`);
  if (failures.length) {
    console.error(`\nbench: ${failures.length} row(s) failed to run:\n${failures.map((f) => `  ${f.what}: ${firstLine(f.error)}`).join("\n")}`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") {
    const spec = JSON.parse(argv[1]) as WorkerSpec;
    worker(spec).catch((err: unknown) => {
      console.error(err instanceof Error ? err.stack : String(err));
      process.exit(1);
    });
  } else {
    try {
      process.exitCode = main(argv);
    } catch (err) {
      console.error(`bench: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
}
