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
  /** CPUs the row's process was pinned to (taskset), when it was. */
  cores?: number[];
  /** Samples/s of each repetition, in run order (the row's samplesPerSec and msPerStep are their medians). */
  runs?: number[];
  /** Slowest and fastest repetition, samples/s. */
  range?: [number, number];
  /** Training multiply-adds per image (lib/src/cost.ts) and the rate they make: 2 × MACs × samples/s. */
  macsPerImage?: number;
  gflops?: number;
}

/** Command-line options. */
export interface BenchOptions {
  models: number[];
  batchSizes: number[];
  warmup: number;
  steps: number;
  cpu: boolean;
  profile: boolean;
  /** Repetitions of every row, interleaved (the table shows their median and range). */
  repeats: number;
  /** Leave out the slow "before" column (wasm-minimal). */
  minimal: boolean;
  /** Keras / PyTorch peers (off: ours only). */
  peers: boolean;
  /** Create the peers' virtual environment and exit. */
  setupPeers: boolean;
  /** Columns left out by name (e.g. tensorflow-1t, pytorch-2t). */
  skip: string[];
}

export const USAGE =
  "usage: npm run bench -- [--models 1,2,3] [--batch-sizes 32,128] [--batches N] [--warmup N] [--repeats N] [--no-minimal] [--no-peers] [--skip COLUMNS] [--cpu] [--profile]\n" +
  "       npm run bench -- --setup-peers   (creates the Keras/TensorFlow + PyTorch venv the peer rows use, then exits)\n" +
  "       npm run bench -- --scaling [--models 1,2,3,best] [--batch-sizes 32,128] [--repeats N] [--batches N] [--trees DIR,…]\n" +
  "                     (wasm on 1 vs 2 threads, interleaved, with every kernel's time at both: scripts/bench/scaling.ts)\n" +
  "  --batches N   timed batches per row after warm-up (default 20; wasm-minimal runs min(N, 4), cpu min(N, 2))\n" +
  "  --warmup N    warm-up batches (default 3; the slow columns use 1)\n" +
  "  --repeats N   run every row N times, interleaved with the other columns (default 3); the table shows median and range\n" +
  "  --no-minimal  leave out the slow wasm-minimal (\"before\") column\n" +
  "  --no-peers    leave out Keras and PyTorch\n" +
  "  --skip a,b    leave out these columns (e.g. tensorflow-1t,tensorflow-2t,pytorch-2t)\n" +
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
  const o: BenchOptions = { models: [1, 2, 3], batchSizes: [32, 128], warmup: 3, steps: 20, cpu: false, profile: false, repeats: 3, minimal: true, peers: true, setupPeers: false, skip: [] };
  const args = argv.flatMap((a) => (a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a]));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--models") o.models = parseList(a, args[++i], [1, 2, 3]);
    else if (a === "--batch-sizes") o.batchSizes = parseList(a, args[++i]);
    else if (a === "--batches") o.steps = parseOne(a, args[++i]);
    else if (a === "--warmup") o.warmup = parseOne(a, args[++i], true);
    else if (a === "--cpu") o.cpu = true;
    else if (a === "--profile") o.profile = true;
    else if (a === "--repeats") o.repeats = parseOne(a, args[++i]);
    else if (a === "--no-minimal") o.minimal = false;
    else if (a === "--no-peers") o.peers = false;
    else if (a === "--setup-peers") o.setupPeers = true;
    else if (a === "--skip") {
      const v = args[++i];
      if (v === undefined || v.startsWith("--") || v.split(",").some((x) => !/^[a-z0-9.]+(-\d+t|-minimal)?$/.test(x))) throw new Error(`--skip needs column names, e.g. --skip tensorflow-1t,tensorflow-2t`);
      o.skip = [...new Set([...o.skip, ...v.split(",")])];
    }
    else throw new Error(`unknown option ${a}; valid: --models 1,2,3 --batch-sizes 32,128 --batches N --warmup N --repeats N --no-minimal --no-peers --skip COLUMNS --setup-peers --cpu --profile`);
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
const BACKEND_ORDER = ["wasm", "wasm-2t", "wasm-minimal", "tensorflow", "tensorflow-1t", "tensorflow-2t", "webgpu", "cpu", "keras-1t", "keras-2t", "pytorch-1t", "pytorch-2t"];

/** Targets against Keras/TensorFlow at equal threads (issue 17), batch 32: wasm on 1 thread vs keras-1t, wasm-2t vs keras-2t. */
export const KERAS_TARGETS: Record<number, number> = { 1: 1.0, 2: 0.9, 3: 0.6 };

/** The peer row a row is compared with: same model, batch and thread count, among `peer` rows. */
function peerRowFor(row: BenchRow, peerRows: BenchRow[]): BenchRow | undefined {
  return peerRows.find((r) => r.model === row.model && r.batch === row.batch && r.threads === row.threads);
}

/** Ratio of a row's samples/s to Keras's at the same model, batch and thread count. */
export function ratioToKeras(row: BenchRow, kerasRows: BenchRow[]): number | undefined {
  const k = peerRowFor(row, kerasRows);
  return k && k.samplesPerSec > 0 ? row.samplesPerSec / k.samplesPerSec : undefined;
}

/** One target check against Keras: wasm (1 thread) or wasm-2t (2 threads), batch 32. */
export interface KerasTargetCheck extends TargetCheck { backend: string; threads: number }

export function checkKerasTargets(rows: BenchRow[], kerasRows: BenchRow[], models: number[]): KerasTargetCheck[] {
  const out: KerasTargetCheck[] = [];
  for (const model of models.filter((m) => KERAS_TARGETS[m] !== undefined)) {
    for (const [backend, threads] of [["wasm", 1], ["wasm-2t", 2]] as const) {
      const ours = rows.find((r) => r.backend === backend && r.model === model && r.batch === TARGET_BATCH);
      if (!ours && backend === "wasm-2t") continue; // a 1-core machine has no wasm-2t column
      const ratio = ours ? ratioToKeras(ours, kerasRows) : undefined;
      const target = KERAS_TARGETS[model];
      out.push({ model, batch: TARGET_BATCH, backend, threads, target, ratio, verdict: ratio === undefined ? "n/a" : ratio >= target ? "PASS" : "MISS" });
    }
  }
  return out;
}

/** Floating-point operations per second, in GFLOP/s, of a training rate: 2 FLOPs per multiply-add. */
export function gflopsOf(macsPerImage: number, samplesPerSec: number): number {
  return (2 * macsPerImage * samplesPerSec) / 1e9;
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(xs: number[]): number {
  if (!xs.length) throw new Error("median of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Folds the repetitions of each (backend, model, batch, threads) into one row: median samples/s and
 * the matching ms/step, the range, every run's rate in run order, the largest peak RSS, and GFLOP/s
 * from the median when the multiply-add count is known. Rows keep the order of their first run.
 */
export function summarize(runs: BenchRow[], macsPerImage: Record<number, number> = {}): BenchRow[] {
  const groups = new Map<string, BenchRow[]>();
  for (const r of runs) {
    const key = `${r.backend}|${r.model}|${r.batch}|${r.threads}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g) => {
    const rates = g.map((r) => r.samplesPerSec);
    const sps = median(rates);
    const macs = g.find((r) => r.macsPerImage !== undefined)?.macsPerImage ?? macsPerImage[g[0].model];
    const row: BenchRow = {
      ...g[0], samplesPerSec: sps, msPerStep: (g[0].batch * 1000) / sps, peakRssMb: Math.max(...g.map((r) => r.peakRssMb)),
      runs: rates, range: [Math.min(...rates), Math.max(...rates)],
    };
    if (macs !== undefined) Object.assign(row, { macsPerImage: macs, gflops: gflopsOf(macs, sps) });
    return row;
  });
}

/**
 * Run order: for each (model, batch), `repeats` rounds over every column, the columns rotated by one
 * place each round, so no column always runs first (after a cold start) or right after the same one.
 */
export function interleave<T>(groups: T[][], repeats: number): Array<{ item: T; round: number }> {
  const out: Array<{ item: T; round: number }> = [];
  for (const g of groups) {
    for (let round = 0; round < repeats; round++) {
      for (let i = 0; i < g.length; i++) out.push({ item: g[(i + round) % g.length], round });
    }
  }
  return out;
}

/** Parses a Linux CPU list ("0-3,6", as in /proc/self/status Cpus_allowed_list or taskset -c). */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(",").filter((p) => p.trim() !== "")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`not a CPU list: ${s}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return [...new Set(out)].sort((x, y) => x - y);
}

/** The cores a row with `threads` threads is pinned to: the first `threads` of the allowed ones (1 thread = one core). */
export function coresFor(threads: number, allowed: number[]): number[] {
  if (threads < 1 || threads > allowed.length) throw new Error(`${threads} thread(s) but ${allowed.length} allowed core(s) (${allowed.join(",")})`);
  return allowed.slice(0, threads);
}

/** Variables that change which OpenBLAS kernel runs (set on some machines, e.g. OPENBLAS_CORETYPE=Haswell on a newer CPU). */
export const BLAS_OVERRIDES = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"];

/** The peers' child environment: the parent's without the BLAS overrides; which ones were removed, with their values. */
export function peerEnv(env: NodeJS.ProcessEnv, extra: Record<string, string> = {}): { env: NodeJS.ProcessEnv; removed: Record<string, string> } {
  const out: NodeJS.ProcessEnv = { ...env, ...extra };
  const removed: Record<string, string> = {};
  for (const k of BLAS_OVERRIDES) {
    if (out[k] !== undefined) removed[k] = out[k]!;
    delete out[k];
  }
  return { env: out, removed };
}

function rangeText(r: BenchRow): string {
  return r.range && r.runs && r.runs.length > 1 ? `${sps(r.range[0])}–${sps(r.range[1])}` : "";
}

/**
 * The result table as aligned text: our rows, then Keras's, then PyTorch's (then any extra peer
 * rows), each ordered by model, batch and backend. Samples/s is the median of the row's runs; the
 * range, GFLOP/s, ratio to Keras and the Keras target come after the original columns.
 */
export function formatTable(rows: BenchRow[], torchRows: BenchRow[], kerasRows: BenchRow[] = [], extraRows: BenchRow[] = []): string {
  const head = ["model", "backend", "batch", "threads", "samples/s", "ms/step", "peak RSS MB", "× wasm-minimal", "× PyTorch (same threads)", "target (batch 32, 1 thread)",
    "range (runs)", "GFLOP/s", "× Keras (same threads)", "vs Keras target (batch 32)"];
  const rank = (r: BenchRow): number => {
    const i = BACKEND_ORDER.indexOf(r.backend);
    return i >= 0 ? i : BACKEND_ORDER.length + r.threads;
  };
  const order = (a: BenchRow, b: BenchRow): number => a.model - b.model || a.batch - b.batch || rank(a) - rank(b) || a.backend.localeCompare(b.backend);
  const peers = new Set([...torchRows, ...kerasRows, ...extraRows]);
  const body = [...[...rows].sort(order), ...[...kerasRows].sort(order), ...[...torchRows].sort(order), ...[...extraRows].sort(order)].map((r) => {
    const isPeer = peers.has(r);
    const ratio = isPeer ? undefined : ratioTo(r, torchRows);
    const kRatio = kerasRows.includes(r) ? undefined : ratioToKeras(r, kerasRows);
    const speedup = r.backend === "wasm" || r.backend === "wasm-2t" ? speedupOver(r, rows, "wasm-minimal") : undefined;
    const target = r.batch === TARGET_BATCH && r.backend === "wasm" && r.threads === 1 ? TARGETS[r.model] : undefined;
    const kTarget = r.batch === TARGET_BATCH && ((r.backend === "wasm" && r.threads === 1) || (r.backend === "wasm-2t" && r.threads === 2)) && kerasRows.length ? KERAS_TARGETS[r.model] : undefined;
    return [
      String(r.model), r.backend, String(r.batch), String(r.threads), sps(r.samplesPerSec), r.msPerStep.toFixed(1), r.peakRssMb.toFixed(0),
      speedup === undefined ? "" : `${speedup.toFixed(2)}×`,
      ratio === undefined ? "" : `${ratio.toFixed(2)}×`,
      target === undefined ? "" : ratio === undefined ? `≥ ${target}× n/a` : `≥ ${target}× ${ratio >= target ? "PASS" : "MISS"}`,
      rangeText(r),
      r.gflops === undefined ? "" : r.gflops.toFixed(1),
      kRatio === undefined ? "" : `${kRatio.toFixed(2)}×`,
      kTarget === undefined ? "" : kRatio === undefined ? `≥ ${kTarget}× n/a` : `≥ ${kTarget}× ${kRatio >= kTarget ? "PASS" : "MISS"}`,
    ];
  });
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Thousands separators for the Markdown table (1,322), one decimal under 100. */
function mdRate(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString("en-US") : x.toFixed(1);
}

/**
 * The README's table, in Markdown, for one batch size: per model, samples/s (median, with the range
 * of the runs) of each column present, then ours over Keras at equal threads. Columns without a
 * row (a peer not installed) are left out rather than shown empty.
 */
export function markdownSummary(all: BenchRow[], batch: number, legend: Record<number, string> = {}): string {
  const cols = ["wasm-minimal", "wasm", "wasm-2t", "tensorflow-1t", "tensorflow-2t", "webgpu", "keras-1t", "keras-2t", "pytorch-1t", "pytorch-2t"];
  const extra = [...new Set(all.map((r) => r.backend).filter((b) => !cols.includes(b) && b !== "cpu"))].sort();
  const present = [...cols, ...extra].filter((c) => all.some((r) => r.backend === c && r.batch === batch));
  const models = [...new Set(all.filter((r) => r.batch === batch).map((r) => r.model))].sort((a, b) => a - b);
  const find = (b: string, m: number): BenchRow | undefined => all.find((r) => r.backend === b && r.model === m && r.batch === batch);
  const cell = (r: BenchRow | undefined): string => {
    if (!r) return "–";
    const range = r.range && r.runs && r.runs.length > 1 ? ` (${mdRate(r.range[0])}–${mdRate(r.range[1])})` : "";
    return `${mdRate(r.samplesPerSec)}${range}`;
  };
  const ratio = (b: string, k: string, m: number): string => {
    const ours = find(b, m);
    const ker = find(k, m);
    return ours && ker && ker.samplesPerSec > 0 ? `${(ours.samplesPerSec / ker.samplesPerSec).toFixed(2)}×` : "–";
  };
  const withRatios = present.includes("keras-1t");
  const head = ["model", ...present, ...(withRatios ? ["wasm / keras, 1 thread", "wasm-2t / keras, 2 threads"] : []), "GFLOP/s wasm / keras-1t"];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`];
  for (const m of models) {
    const w = find("wasm", m);
    const k = find("keras-1t", m);
    const gf = [w?.gflops, k?.gflops].map((g) => (g === undefined ? "–" : g.toFixed(1))).join(" / ");
    lines.push(`| ${[legend[m] ? `${m}: ${legend[m]}` : String(m), ...present.map((c) => cell(find(c, m))),
      ...(withRatios ? [ratio("wasm", "keras-1t", m), ratio("wasm-2t", "keras-2t", m)] : []), gf].join(" | ")} |`);
  }
  return lines.join("\n");
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
