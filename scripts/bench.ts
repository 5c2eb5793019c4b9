/**
 * `npm run bench`: training throughput of the reference CNNs on each TensorFlow.js backend
 * configuration, side by side with PyTorch (when /usr/bin/python3 has torch) in one run, as a
 * table with ratios; results also go to artifacts/bench/bench-<time>.json.
 * Each backend configuration runs in its own child process, because kernel registration is
 * process-wide ("wasm-minimal" = only what wasm needs to train at all: the "before" column).
 */
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../lib/src/data/atomic";

const REPO = path.resolve(__dirname, "..");

/** One measured configuration. */
export interface BenchRow {
  model: number;
  backend: string;
  batch: number;
  threads: number;
  msPerStep: number;
  samplesPerSec: number;
  peakRssMb: number;
}

/** Command-line options. */
export interface BenchOptions {
  models: number[];
  batchSizes: number[];
  warmup: number;
  steps: number;
  cpu: boolean;
  profile: boolean;
}

export const MODEL_LEGEND: Record<number, string> = {
  1: "conv 3×3×32 → maxpool 2 → dense 128 → dense 10 (write-up 000's best)",
  2: "conv 3×3×64 → dense 128 → dense 10 (000's 64-filter CNN)",
  3: "conv32 → conv32 → pool → conv64 → conv64 → pool → dense 256 → dropout 0.5 → dense 10 (3×3 'same')",
};

/** Targets from the performance issue: our samples/s over PyTorch's (1 thread, batch 32). */
export const TARGETS: Record<number, number> = { 1: 0.5, 2: 0.35, 3: 0.35 };

function parseList(flag: string, v: string | undefined, allowed?: number[]): number[] {
  if (!v) throw new Error(`${flag} needs a value, e.g. ${flag} 1,2`);
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1 || (allowed && !allowed.includes(x)))) {
    throw new Error(`${flag} ${v}: expected a comma-separated list of ${allowed ? allowed.join("/") : "positive integers"}.`);
  }
  return xs;
}

/** Parses the flags; throws a message listing the valid ones. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { models: [1, 2, 3], batchSizes: [32, 128], warmup: 3, steps: 20, cpu: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--models") o.models = parseList(a, argv[++i], [1, 2, 3]);
    else if (a === "--batch-sizes") o.batchSizes = parseList(a, argv[++i]);
    else if (a === "--batches") o.steps = parseList(a, argv[++i])[0];
    else if (a === "--warmup") o.warmup = parseList(a, argv[++i])[0];
    else if (a === "--cpu") o.cpu = true;
    else if (a === "--profile") o.profile = true;
    else throw new Error(`unknown option ${a}; valid: --models 1,2,3 --batch-sizes 32,128 --batches N --warmup N --cpu --profile`);
  }
  return o;
}

/** Ratio of ours to PyTorch's for the same model, batch and thread count. */
export function ratioTo(row: BenchRow, torchRows: BenchRow[]): number | undefined {
  const t = torchRows.find((r) => r.model === row.model && r.batch === row.batch && r.threads === row.threads);
  return t ? row.samplesPerSec / t.samplesPerSec : undefined;
}

/** The result table as aligned text. */
export function formatTable(rows: BenchRow[], torchRows: BenchRow[]): string {
  const head = ["model", "backend", "batch", "threads", "samples/s", "ms/step", "peak RSS MB", "× PyTorch (same threads)", "target"];
  const body = [...rows, ...torchRows].map((r) => {
    const ratio = r.backend.startsWith("pytorch") ? undefined : ratioTo(r, torchRows);
    const target = r.batch === 32 && r.backend === "wasm" ? TARGETS[r.model] : undefined;
    return [
      String(r.model), r.backend, String(r.batch), String(r.threads), r.samplesPerSec.toFixed(0), r.msPerStep.toFixed(1), r.peakRssMb.toFixed(0),
      ratio === undefined ? "" : `${ratio.toFixed(2)}×`,
      target === undefined || ratio === undefined ? "" : `≥ ${target}× ${ratio >= target ? "PASS" : "MISS"}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function worker(spec: { backend: string; models: number[]; batchSizes: number[]; warmup: number; steps: number; profile: boolean }): Promise<void> {
  const tf = await import("@tensorflow/tfjs");
  const fm = await import("../lib/src/index");
  const info = await fm.initBackend(spec.backend === "cpu" ? "cpu" : "wasm");
  const build = (k: number): import("@tensorflow/tfjs").LayersModel => {
    if (k === 1) return fm.buildModel("cnn_maxpool", { seed: 1 });
    if (k === 2) return fm.buildModel("cnn64", { seed: 1 });
    const conv = (filters: number, first = false) =>
      tf.layers.conv2d({ filters, kernelSize: 3, padding: "same", activation: "relu", ...(first ? { inputShape: [28, 28, 1] } : {}), kernelInitializer: tf.initializers.glorotUniform({ seed: filters }) });
    const m = tf.sequential({
      layers: [
        conv(32, true), conv(32), tf.layers.maxPooling2d({ poolSize: 2 }), conv(64), conv(64), tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(), tf.layers.dense({ units: 256, activation: "relu" }), new fm.SeededDropout({ rate: 0.5, seed: 3 }), tf.layers.dense({ units: 10, activation: "softmax" }),
      ],
    });
    m.compile({ optimizer: tf.train.adam(1e-3), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
    return m;
  };
  let peak = 0;
  for (const k of spec.models) {
    for (const bs of spec.batchSizes) {
      const model = build(k);
      const xs = tf.randomNormal([bs, 28, 28, 1], 0, 1, "float32", 7);
      const ys = tf.tidy(() => tf.floor(tf.randomUniform([bs], 0, 10, "float32", 8)));
      for (let i = 0; i < spec.warmup; i++) await model.trainOnBatch(xs, ys);
      const t0 = performance.now();
      for (let i = 0; i < spec.steps; i++) await model.trainOnBatch(xs, ys);
      const ms = (performance.now() - t0) / spec.steps;
      peak = Math.max(peak, process.memoryUsage().rss);
      const row: BenchRow = { model: k, backend: spec.backend, batch: bs, threads: info.threads || 1, msPerStep: ms, samplesPerSec: (bs * 1000) / ms, peakRssMb: peak / 2 ** 20 };
      let top: string | undefined;
      if (spec.profile && bs === spec.batchSizes[0]) {
        const p = await tf.profile(async () => { await model.trainOnBatch(xs, ys); });
        const agg: Record<string, number> = {};
        for (const kk of p.kernels) agg[kk.name] = (agg[kk.name] ?? 0) + Number(kk.kernelTimeMs);
        top = Object.entries(agg).sort((a, b) => b[1] - a[1]).slice(0, 6).map(([n, v]) => `${n} ${v.toFixed(1)} ms`).join(", ");
      }
      console.log(`@@ ${JSON.stringify({ row, top })}`);
      fm.disposeModel(model);
      tf.dispose([xs, ys]);
    }
  }
}

function runWorker(backend: string, o: BenchOptions, env: NodeJS.ProcessEnv): { rows: BenchRow[]; profiles: string[] } {
  // The slow columns get few batches, so the default run stays within minutes.
  const steps = backend === "cpu" ? Math.min(o.steps, 2) : backend === "wasm-minimal" ? Math.min(o.steps, 4) : o.steps;
  const warmup = backend === "wasm" ? o.warmup : 1;
  const spec = { backend, models: o.models, batchSizes: o.batchSizes, warmup, steps, profile: o.profile && backend === "wasm" };
  console.log(`running ${backend} (${o.models.length} models × ${o.batchSizes.length} batch sizes, ${steps} timed batches each)…`);
  const r = spawnSync(process.execPath, ["--import", "tsx", __filename, "--worker", JSON.stringify(spec)], { cwd: REPO, env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${backend} worker failed (exit ${r.status}):\n${(r.stderr || r.stdout).split("\n").slice(-15).join("\n")}`);
  const rows: BenchRow[] = [];
  const profiles: string[] = [];
  for (const line of r.stdout.split("\n")) {
    if (!line.startsWith("@@ ")) continue;
    const { row, top } = JSON.parse(line.slice(3)) as { row: BenchRow; top?: string };
    rows.push(row);
    console.log(`  model ${row.model}, batch ${row.batch}: ${row.samplesPerSec.toFixed(0)} samples/s`);
    if (top) profiles.push(`model ${row.model} (batch ${row.batch}): ${top}`);
  }
  return { rows, profiles };
}

function pythonWithTorch(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import torch"], { encoding: "utf8" });
    if (r.status === 0) return py;
  }
  return undefined;
}

function main(argv: string[]): number {
  const o = parseBenchArgs(argv);
  const t0 = Date.now();
  const rows: BenchRow[] = [];
  const profiles: string[] = [];
  const configs: Array<[string, NodeJS.ProcessEnv]> = [
    ["wasm", { ...process.env, FMNIST_WASM_KERNELS: "fast" }],
    ["wasm-minimal", { ...process.env, FMNIST_WASM_KERNELS: "minimal" }],
    ...(o.cpu ? [["cpu", { ...process.env }] as [string, NodeJS.ProcessEnv]] : []),
  ];
  for (const [name, env] of configs) {
    const r = runWorker(name, o, env);
    rows.push(...r.rows);
    profiles.push(...r.profiles);
  }
  console.log("tensorflow (tfjs-node): not benchmarked here; it is used automatically where @tensorflow/tfjs-node loads.");
  const torchRows: BenchRow[] = [];
  let torchVersion: string | undefined;
  const py = pythonWithTorch();
  if (!py) console.log("PyTorch: skipped (no python3 with torch; on Debian: apt-get install python3-torch).");
  else {
    for (const threads of [1, 2]) {
      console.log(`running PyTorch (${threads} thread${threads > 1 ? "s" : ""})…`);
      const r = spawnSync(py, [path.join(__dirname, "bench_torch.py"), "--threads", String(threads), "--batch-sizes", o.batchSizes.join(","), "--warmup", String(o.warmup), "--steps", String(o.steps), "--models", o.models.join(",")], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`bench_torch.py failed: ${r.stderr.split("\n").slice(-5).join("\n")}`);
      for (const line of r.stdout.trim().split("\n")) {
        const t = JSON.parse(line) as BenchRow & { torch: string };
        torchVersion = t.torch;
        torchRows.push({ model: t.model, backend: `pytorch-${threads}t`, batch: t.batch, threads, msPerStep: t.msPerStep, samplesPerSec: t.samplesPerSec, peakRssMb: t.peakRssMb });
      }
    }
  }
  console.log(`\n${formatTable(rows, torchRows)}\n`);
  for (const [k, v] of Object.entries(MODEL_LEGEND)) if (o.models.includes(Number(k))) console.log(`model ${k}: ${v}`);
  console.log("Inputs: random normal images, random labels; Adam 1e-3; wasm runs on one thread (tfjs-backend-wasm uses no threads in Node).");
  console.log(`Targets (wasm, batch 32, vs PyTorch on 1 thread): model 1 ≥ ${TARGETS[1]}×, models 2 and 3 ≥ ${TARGETS[2]}×.`);
  if (profiles.length) console.log(`\nHottest kernels of one wasm training step:\n${profiles.map((p) => `  ${p}`).join("\n")}`);
  const stamp = new Date().toISOString();
  const file = path.join(REPO, "artifacts", "bench", `bench-${stamp.replace(/[:.]/g, "-")}.json`);
  const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO, encoding: "utf8" }).stdout.trim() || undefined;
  writeFileAtomic(file, JSON.stringify({ date: stamp, commit, node: process.version, cores: os.cpus().length, torch: torchVersion, options: o, rows, torchRows, profiles }, null, 2));
  console.log(`\nresults: ${path.relative(REPO, file)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  return 0;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") {
    const spec = JSON.parse(argv[1]) as Parameters<typeof worker>[0];
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
