/**
 * The pure parts of `npm run bench`: flags, the reference models' legend, ratios to PyTorch,
 * targets (PASS/MISS) and the result table. No TensorFlow.js here, so it is cheap to test.
 */

/** One measured configuration: a (model, backend, batch size) trained in its own process. */
export interface BenchRow {
  model: number;
  /** "wasm", "wasm-2t", "wasm-minimal", "cpu", "tensorflow-1t", "tensorflow-2t", "webgpu", "pytorch-1t", "pytorch-2t". */
  backend: string;
  batch: number;
  threads: number;
  /** Warm-up and timed batches actually run for this row. */
  warmup?: number;
  steps?: number;
  msPerStep: number;
  samplesPerSec: number;
  /** Peak resident set size of the process that measured this row (its own process). */
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

export const USAGE =
  "usage: npm run bench -- [--models 1,2,3] [--batch-sizes 32,128] [--batches N] [--warmup N] [--cpu] [--profile]\n" +
  "  --batches N   timed batches per row after warm-up (default 20; wasm-minimal runs min(N, 4), cpu min(N, 2))\n" +
  "  --warmup N    warm-up batches (default 3; the slow columns use 1)\n" +
  "  --cpu         add the pure-JS cpu backend (~150× slower than wasm; very few batches)\n" +
  "  --profile     print the hottest kernels of one wasm training step per model";

/** Architectures, also printed as the table's legend (PyTorch mirrors them in bench_torch.py). */
export const MODEL_LEGEND: Record<number, string> = {
  1: "conv 3×3×32 relu → maxpool 2 → flatten → dense 128 relu → dense 10 softmax (write-up 000's best; lib cnn_maxpool)",
  2: "conv 3×3×64 relu → flatten → dense 128 relu → dense 10 softmax (000's 64-filter CNN; lib cnn64)",
  3: "deep CNN, 3×3 'same' convs: conv32 → conv32 → maxpool 2 → conv64 → conv64 → maxpool 2 → flatten → dense 256 relu → dropout 0.5 → dense 10 softmax (built in scripts/bench.ts)",
};

/** Targets from the performance issue: wasm samples/s over PyTorch's, 1 thread, batch 32. */
export const TARGETS: Record<number, number> = { 1: 0.5, 2: 0.35, 3: 0.35 };
export const TARGET_BATCH = 32;

/** Timed / warm-up batches for a backend column: the slow "before" and cpu columns get few. */
export function batchesFor(backend: string, o: Pick<BenchOptions, "steps" | "warmup">): { warmup: number; steps: number } {
  if (backend === "cpu") return { warmup: Math.min(o.warmup, 1), steps: Math.min(o.steps, 2) };
  if (backend === "wasm-minimal") return { warmup: Math.min(o.warmup, 1), steps: Math.min(o.steps, 4) };
  return { warmup: o.warmup, steps: o.steps };
}

function parseList(flag: string, v: string | undefined, allowed?: number[], allowZero = false): number[] {
  if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value, e.g. ${flag} ${allowed ? allowed.slice(0, 2).join(",") : "20"}`);
  const xs = v.split(",").map((s) => (s.trim() === "" ? NaN : Number(s.trim())));
  const min = allowZero ? 0 : 1;
  if (xs.some((x) => !Number.isInteger(x) || x < min || (allowed && !allowed.includes(x)))) {
    throw new Error(`${flag} ${v}: expected a comma-separated list of ${allowed ? allowed.join("/") : allowZero ? "integers ≥ 0" : "positive integers"}.`);
  }
  return [...new Set(xs)];
}

function parseOne(flag: string, v: string | undefined, allowZero = false): number {
  const xs = parseList(flag, v, undefined, allowZero);
  if (xs.length !== 1) throw new Error(`${flag} ${v}: expected one number.`);
  return xs[0];
}

/** Parses the flags (`--flag value` or `--flag=value`); throws a message that lists the valid ones. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = { models: [1, 2, 3], batchSizes: [32, 128], warmup: 3, steps: 20, cpu: false, profile: false };
  const args = argv.flatMap((a) => (a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--models") o.models = parseList(a, args[++i], [1, 2, 3]);
    else if (a === "--batch-sizes") o.batchSizes = parseList(a, args[++i]);
    else if (a === "--batches") o.steps = parseOne(a, args[++i]);
    else if (a === "--warmup") o.warmup = parseOne(a, args[++i], true);
    else if (a === "--cpu") o.cpu = true;
    else if (a === "--profile") o.profile = true;
    else throw new Error(`unknown option ${a}; valid: --models 1,2,3 --batch-sizes 32,128 --batches N --warmup N --cpu --profile`);
  }
  return o;
}

/** Thread count of the PyTorch row a row is compared with (wasm runs on 1 thread in Node). */
function torchRowFor(row: BenchRow, torchRows: BenchRow[], threads = row.threads): BenchRow | undefined {
  return torchRows.find((r) => r.model === row.model && r.batch === row.batch && r.threads === threads);
}

/** Ratio of ours to PyTorch's samples/s for the same model, batch and thread count. */
export function ratioTo(row: BenchRow, torchRows: BenchRow[]): number | undefined {
  const t = torchRowFor(row, torchRows);
  return t && t.samplesPerSec > 0 ? row.samplesPerSec / t.samplesPerSec : undefined;
}

/** Speed-up of a row over the same model and batch on another backend column (e.g. wasm over wasm-minimal). */
export function speedupOver(row: BenchRow, rows: BenchRow[], baseline: string): number | undefined {
  const b = rows.find((r) => r.backend === baseline && r.model === row.model && r.batch === row.batch);
  return b && b.samplesPerSec > 0 ? row.samplesPerSec / b.samplesPerSec : undefined;
}

/** One target check: wasm, batch 32, against PyTorch on 1 thread. */
export interface TargetCheck {
  model: number;
  batch: number;
  target: number;
  ratio?: number;
  /** PASS / MISS, or "n/a" when a side is missing (PyTorch skipped, row failed). */
  verdict: "PASS" | "MISS" | "n/a";
}

/** The target checks for the models that were run. */
export function checkTargets(rows: BenchRow[], torchRows: BenchRow[], models: number[]): TargetCheck[] {
  return models
    .filter((m) => TARGETS[m] !== undefined)
    .map((model) => {
      const ours = rows.find((r) => r.backend === "wasm" && r.model === model && r.batch === TARGET_BATCH);
      const t = ours ? torchRowFor(ours, torchRows, 1) : undefined;
      const ratio = ours && t && t.samplesPerSec > 0 ? ours.samplesPerSec / t.samplesPerSec : undefined;
      const target = TARGETS[model];
      return { model, batch: TARGET_BATCH, target, ratio, verdict: ratio === undefined ? "n/a" : ratio >= target ? "PASS" : "MISS" };
    });
}

function sps(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Display order of our columns within one (model, batch); PyTorch rows follow by thread count. */
const BACKEND_ORDER = ["wasm", "wasm-2t", "wasm-minimal", "tensorflow", "tensorflow-1t", "tensorflow-2t", "webgpu", "cpu"];

/** The result table as aligned text: our rows, then PyTorch's, each ordered by model, batch and backend. */
export function formatTable(rows: BenchRow[], torchRows: BenchRow[]): string {
  const head = ["model", "backend", "batch", "threads", "samples/s", "ms/step", "peak RSS MB", "× wasm-minimal", "× PyTorch (same threads)", "target (batch 32, 1 thread)"];
  const rank = (r: BenchRow): number => {
    const i = BACKEND_ORDER.indexOf(r.backend);
    return i >= 0 ? i : BACKEND_ORDER.length + r.threads;
  };
  const order = (a: BenchRow, b: BenchRow): number => a.model - b.model || a.batch - b.batch || rank(a) - rank(b) || a.backend.localeCompare(b.backend);
  const body = [...[...rows].sort(order), ...[...torchRows].sort(order)].map((r) => {
    const isTorch = r.backend.startsWith("pytorch");
    const ratio = isTorch ? undefined : ratioTo(r, torchRows);
    const speedup = r.backend === "wasm" || r.backend === "wasm-2t" ? speedupOver(r, rows, "wasm-minimal") : undefined;
    const target = r.batch === TARGET_BATCH && r.backend === "wasm" && r.threads === 1 ? TARGETS[r.model] : undefined;
    return [
      String(r.model), r.backend, String(r.batch), String(r.threads), sps(r.samplesPerSec), r.msPerStep.toFixed(1), r.peakRssMb.toFixed(0),
      speedup === undefined ? "" : `${speedup.toFixed(2)}×`,
      ratio === undefined ? "" : `${ratio.toFixed(2)}×`,
      target === undefined ? "" : ratio === undefined ? `≥ ${target}× n/a` : `≥ ${target}× ${ratio >= target ? "PASS" : "MISS"}`,
    ];
  });
  const right = new Set([2, 3, 4, 5, 6, 7, 8]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Aggregates a tf.profile kernel list by kernel name: total ms, calls and share, hottest first. */
export function topKernels(kernels: Array<{ name: string; kernelTimeMs: number | { error: string } }>, n = 8): Array<{ name: string; ms: number; calls: number; share: number }> {
  const agg = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === "number" && Number.isFinite(k.kernelTimeMs) ? k.kernelTimeMs : 0;
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += ms;
    a.calls += 1;
    agg.set(k.name, a);
    total += ms;
  }
  return [...agg.entries()]
    .map(([name, a]) => ({ name, ms: a.ms, calls: a.calls, share: total > 0 ? a.ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms || a.name.localeCompare(b.name))
    .slice(0, n);
}

/** The first non-empty line of a message, cut at `max` characters. */
export function firstLine(s: string, max = 240): string {
  const l = s.split("\n").find((x) => x.trim() !== "") ?? s;
  return l.length > max ? `${l.slice(0, max)}…` : l;
}

/** One line on why tfjs-node ("tensorflow") did not initialise, from initBackend's error message. */
export function tensorflowReason(message: string): string {
  const m = /does not load \((.*?)\)\.(\s|$)/s.exec(message);
  const why = firstLine(m ? m[1] : message);
  return /without native TensorFlow/.test(why)
    ? `${why} (the danfojs override aliases it to plain tfjs; the real package's installer downloads libtensorflow from storage.googleapis.com, unreachable here)`
    : `${why} (optional; its installer downloads libtensorflow from storage.googleapis.com)`;
}
