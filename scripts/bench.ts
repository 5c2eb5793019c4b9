/**
 * `npm run bench`: training throughput of the reference CNNs on each TensorFlow.js backend
 * configuration, side by side with Keras 3 on TensorFlow and PyTorch 2 (the peers: whichever python3
 * has them, first the venv `--setup-peers` creates) in one run, as a table with medians, ranges,
 * GFLOP/s, ratios and the issue's targets; results also go to artifacts/bench/bench-<time>.json.
 *
 * Every (backend, model, batch size) row runs in its own child process (`--worker <json>`, one
 * JSON line back): kernel registration is process-wide ("wasm-minimal" = FMNIST_WASM_KERNELS=minimal,
 * only what wasm needs to train at all: the "before" column), and a fresh process gives each row
 * its own peak RSS. Every child is pinned to its cores with taskset (1 thread = one core, 2 threads =
 * two), the peers' without OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE. The rows of one (model, batch) run
 * in rounds, ours and the peers' interleaved, every row `--repeats` times, so the ratios compare
 * measurements taken close together on a shared machine; the table shows each row's median and range.
 *
 * Flags: see USAGE in scripts/bench/format.ts (`npm run bench -- --help`).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LayersModel } from "@tensorflow/tfjs";
import { writeFileAtomic } from "../lib/src/io";
import {
  batchesFor, checkKerasTargets, checkTargets, coresFor, firstLine, formatTable, interleave, markdownSummary, MODEL_LEGEND, parseBenchArgs, parseCpuList, peerEnv,
  ratioTo, ratioToKeras, speedupOver, summarize, TARGET_BATCH, TARGETS, tensorflowReason, topKernels, USAGE,
  type BenchOptions, type BenchRow,
} from "./bench/format";
import { formatProducts, measureProducts, type ProductRow } from "./bench/products";

export { batchesFor, checkTargets, formatTable, MODEL_LEGEND, parseBenchArgs, ratioTo, ratioToKeras, speedupOver, summarize, TARGETS, tensorflowReason, topKernels };
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
  /** Instead of a row: the wasm SIMD128 convolution tile's rate on one thread (the "machine peak" line's wasm half). */
  convPeak?: boolean;
  /** Instead of a row: model 2's dense-layer products, old route vs the tiled SIMD loops, on one thread (scripts/bench/products.ts). */
  products?: boolean;
}

interface ProfileEntry { model: number; batch: number; stepMs: number; kernelMs: number; top: ReturnType<typeof topKernels> }
interface ConvPeak { shape: string; macs: number; bestMs: number; gflops: number }
interface WorkerResult { info?: Record<string, unknown>; row?: BenchRow; profile?: ProfileEntry; unavailable?: string; convPeak?: ConvPeak; products?: ProductRow[] }

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
  if (spec.products) return emit({ products: measureProducts(tf) });
  if (spec.convPeak) {
    // The deep CNN's widest 3×3 layer, forward, batch 32: the register-tiled SIMD loop (conv-wat.ts).
    const [n, h, w, c, f] = [32, 14, 14, 64, 64];
    const x = tf.randomNormal([n, h, w, c], 0, 1, "float32", 1) as import("@tensorflow/tfjs").Tensor4D;
    const k = tf.randomNormal([3, 3, c, f], 0, 0.1, "float32", 2) as import("@tensorflow/tfjs").Tensor4D;
    let best = Infinity;
    for (let i = 0; i < 12; i++) {
      const t = performance.now();
      const y = tf.conv2d(x, k, 1, "same");
      await y.data();
      best = Math.min(best, performance.now() - t);
      y.dispose();
    }
    const macs = n * h * w * 9 * c * f;
    emit({ convPeak: { shape: `conv2d forward [${n},${h},${w},${c}] * [3,3,${c},${f}] 'same'`, macs, bestMs: best, gflops: (2 * macs) / best / 1e6 } });
    tf.dispose([x, k]);
    return;
  }
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
  const macsPerImage = fm.trainingMacsPerImage(model);
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
    row: { model: k, backend: spec.backend, batch: bs, threads: info.threads || Number(/-(\d+)t$/.exec(spec.backend)?.[1] ?? 1), warmup: spec.warmup, steps: spec.steps, msPerStep: ms, samplesPerSec: (bs * 1000) / ms, peakRssMb, macsPerImage },
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

/** Pinning: `taskset -c <cores>` in front of every child when taskset exists, else unpinned (said in the output). */
interface Pinning { taskset: boolean; allowed: number[]; why?: string }

function pinning(): Pinning {
  let allowed: number[] = [];
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    if (m) allowed = parseCpuList(m[1]);
  } catch {
    // not Linux
  }
  if (!allowed.length) allowed = os.cpus().map((_, i) => i);
  const t = spawnSync("taskset", ["-c", String(allowed[0]), "true"], { encoding: "utf8" });
  if (t.error || t.status !== 0) return { taskset: false, allowed, why: t.error ? t.error.message : firstLine(t.stderr) };
  return { taskset: true, allowed };
}

/** The command line of a child pinned to the first `threads` allowed cores. */
function pinned(pin: Pinning, threads: number, cmd: string, args: string[]): { cmd: string; args: string[]; cores?: number[] } {
  if (!pin.taskset) return { cmd, args };
  const cores = coresFor(Math.min(threads, pin.allowed.length), pin.allowed);
  return { cmd: "taskset", args: ["-c", cores.join(","), cmd, ...args], cores };
}

function runWorker(spec: WorkerSpec, env: NodeJS.ProcessEnv, pin?: Pinning, threads = 1): WorkerResult[] {
  // cpu, and webgpu on a software adapter (seconds per step for model 3), get the long limit.
  const timeout = spec.backend === "cpu" || spec.backend === "webgpu" ? CHILD_TIMEOUT_MS.cpu : CHILD_TIMEOUT_MS.default;
  const c = pin ? pinned(pin, threads, process.execPath, ["--import", "tsx", __filename, "--worker", JSON.stringify(spec)]) : { cmd: process.execPath, args: ["--import", "tsx", __filename, "--worker", JSON.stringify(spec)] };
  const r = spawnSync(c.cmd, c.args, {
    cwd: REPO, env, encoding: "utf8", maxBuffer: 64 << 20, timeout, killSignal: "SIGKILL",
  });
  if (r.error) throw new Error(`${r.error.message}${(r.error as NodeJS.ErrnoException).code === "ETIMEDOUT" ? ` (time limit ${timeout / 1000} s)` : ""}`);
  if (r.status !== 0) throw new Error(`exit ${r.status ?? r.signal}:\n${tail(r.stderr || r.stdout)}`);
  const out = r.stdout.split("\n").filter((l) => l.startsWith("@@ ")).map((l) => JSON.parse(l.slice(3)) as WorkerResult);
  if (!out.length) throw new Error(`no result line from the worker:\n${tail(r.stderr || r.stdout)}`);
  const cores = "cores" in c ? c.cores : undefined;
  for (const o of out) if (o.row && cores) o.row.cores = cores;
  return out;
}

// ---------------------------------------------------------------- the peers (Keras on TensorFlow, PyTorch)

const PEERS_SCRIPT = path.join(__dirname, "bench_peers.py");
/** What `--setup-peers` installs: the versions issue 17 compares with (the CPU build of torch). */
export const PEER_PINS = ["tensorflow-cpu==2.21.0", "keras==3.15.1", "torch==2.13.0+cpu", "threadpoolctl==3.7.0"];

function cacheRoot(): string {
  if (process.env.FMNIST_CACHE_DIR) return process.env.FMNIST_CACHE_DIR;
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "fmnist");
}
const peersVenv = (): string => path.join(cacheRoot(), "peers-venv");

/** `--setup-peers`: a venv with PEER_PINS, from the index pip is configured with (PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS otherwise). */
function setupPeers(): number {
  const dir = peersVenv();
  const py = process.env.FMNIST_PEERS_BASE_PYTHON || "python3";
  console.log(`creating ${dir} with ${py} -m venv, then pip install ${PEER_PINS.join(" ")}`);
  if (!fs.existsSync(path.join(dir, "bin", "python"))) {
    const v = spawnSync(py, ["-m", "venv", dir], { stdio: "inherit" });
    if (v.status !== 0) return 1;
  }
  const r = spawnSync(path.join(dir, "bin", "python"), ["-m", "pip", "install", "--no-input", ...PEER_PINS], { stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`pip failed. torch==2.13.0+cpu comes from PyTorch's CPU index (PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu) or a local mirror; set PIP_INDEX_URL / PIP_EXTRA_INDEX_URL / PIP_FIND_LINKS when \`pip config list\` names no index that has these versions.`);
    return 1;
  }
  console.log(`done: npm run bench uses ${path.join(dir, "bin", "python")} for the Keras and PyTorch rows.`);
  return 0;
}

interface Peer { framework: "keras" | "torch"; name: string; python: string; version: string; threads: number[]; probe?: Record<string, unknown> }

/** Python interpreters to look in: $FMNIST_PEERS_PYTHON, the peers venv, python3 on PATH, Debian's /usr/bin/python3. */
function pythonCandidates(): string[] {
  const c = [process.env.FMNIST_PEERS_PYTHON, path.join(peersVenv(), "bin", "python"), "python3", "/usr/bin/python3"].filter((x): x is string => Boolean(x));
  return [...new Set(c)];
}

const VERSIONS_PY = "import json, importlib.metadata as m\nout = {}\nfor d in ('keras', 'tensorflow', 'tensorflow-cpu', 'torch', 'numpy'):\n    try: out[d] = m.version(d)\n    except Exception: pass\nprint(json.dumps(out))";

/**
 * Keras ≥ 3 with TensorFlow, and PyTorch ≥ 2: the first interpreter that has each. PyTorch < 2 (Debian's
 * python3-torch 1.13) stays as an extra one-thread row. Reasons when a peer is missing.
 */
function findPeers(threads: number[]): { peers: Peer[]; missing: string[]; numpyPython?: string } {
  const seen: Array<{ python: string; v: Record<string, string> }> = [];
  const reasons: string[] = [];
  for (const py of pythonCandidates()) {
    if (py.includes(path.sep) && !fs.existsSync(py)) {
      reasons.push(`${py}: not there`);
      continue;
    }
    const r = spawnSync(py, ["-c", VERSIONS_PY], { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) {
      reasons.push(`${py}: ${r.error ? r.error.message : firstLine(tail(r.stderr, 1))}`);
      continue;
    }
    seen.push({ python: py, v: JSON.parse(r.stdout.trim()) as Record<string, string> });
  }
  const major = (v?: string): number => Number((v ?? "0").split(".")[0]);
  const peers: Peer[] = [];
  const missing: string[] = [];
  const keras = seen.find((s) => major(s.v.keras) >= 3 && (s.v.tensorflow || s.v["tensorflow-cpu"]));
  if (keras) peers.push({ framework: "keras", name: "keras", python: keras.python, version: `Keras ${keras.v.keras} on TensorFlow ${keras.v.tensorflow ?? keras.v["tensorflow-cpu"]}`, threads });
  else missing.push("Keras 3 + TensorFlow");
  const torch = seen.find((s) => major(s.v.torch) >= 2);
  if (torch) peers.push({ framework: "torch", name: "pytorch", python: torch.python, version: `PyTorch ${torch.v.torch}`, threads });
  else missing.push("PyTorch 2");
  const old = seen.find((s) => s.v.torch && major(s.v.torch) < 2);
  if (old) peers.push({ framework: "torch", name: `pytorch${old.v.torch.split(".").slice(0, 2).join(".")}`, python: old.python, version: `PyTorch ${old.v.torch} (extra)`, threads: [1] });
  if (missing.length) missing.push(`looked in: ${pythonCandidates().join(", ")}${reasons.length ? ` (${reasons.join("; ")})` : ""}; \`npm run bench -- --setup-peers\` creates ${peersVenv()}`);
  // The native sgemm of the peak line needs only numpy (or torch): any interpreter that has it.
  const numpyPython = (torch ?? keras ?? seen.find((s) => s.v.numpy || s.v.torch))?.python;
  return { peers, missing, numpyPython };
}

function runPeer(args: string[], pin: Pinning, threads: number, env: NodeJS.ProcessEnv, python: string): Record<string, unknown> & { cores?: number[] } {
  const c = pinned(pin, threads, python, [PEERS_SCRIPT, ...args]);
  const r = spawnSync(c.cmd, c.args, { encoding: "utf8", env, timeout: CHILD_TIMEOUT_MS.default, killSignal: "SIGKILL", maxBuffer: 16 << 20 });
  if (r.error) throw new Error(r.error.message);
  if (r.status !== 0) throw new Error(`bench_peers.py ${args[0]} exit ${r.status ?? r.signal}:\n${tail(r.stderr)}`);
  const line = r.stdout.split("\n").filter((l) => l.startsWith("@@ ")).pop();
  if (!line) throw new Error(`bench_peers.py ${args[0]}: no result line:\n${tail(r.stderr || r.stdout)}`);
  return { ...(JSON.parse(line.slice(3)) as Record<string, unknown>), cores: c.cores };
}

function gitCommit(): { commit?: string; dirty?: boolean } {
  const c = spawnSync("git", ["rev-parse", "HEAD"], { cwd: REPO, encoding: "utf8" });
  if (c.status !== 0) return {};
  const s = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: REPO, encoding: "utf8" });
  return { commit: c.stdout.trim(), dirty: s.status === 0 ? s.stdout.trim() !== "" : undefined };
}

interface MachinePeak { when: string; native?: Record<string, unknown>; nativeWithOverrides?: Record<string, unknown>; wasm?: ConvPeak; errors: string[] }

function main(argv: string[]): number {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const o = parseBenchArgs(argv);
  if (o.setupPeers) return setupPeers();
  const t0 = Date.now();
  const loadStart = os.loadavg();
  const failures: Array<{ what: string; error: string }> = [];
  const backendInfo: Record<string, unknown> = {};
  const pin = pinning();
  console.log(pin.taskset ? `pinning: taskset, 1 thread = core ${pin.allowed[0]}, 2 threads = cores ${pin.allowed.slice(0, 2).join(",")} (allowed: ${pin.allowed.join(",")})` : `pinning: NOT pinned (taskset unavailable: ${pin.why})`);
  console.log(`load average at start: ${loadStart.map((x) => x.toFixed(1)).join(" ")} on ${os.cpus().length} cores`);

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
  const threadsOf = (b: string): number => Number(/-(\d+)t$/.exec(b)?.[1] ?? 1);
  // "wasm-2t": the same kernels on the threaded XNNPACK build with two threads (both cores here).
  const two = pin.allowed.length >= 2 && os.cpus().length >= 2;
  const backends = two ? ["wasm", "wasm-2t"] : ["wasm"];
  if (o.minimal) backends.push("wasm-minimal");
  let tensorflowStatus: string;
  try {
    const probe = runWorker({ backend: "tensorflow", probe: true }, envFor("tensorflow"));
    const un = probe.find((p) => p.unavailable)?.unavailable;
    if (un) tensorflowStatus = `not available: ${tensorflowReason(un)}`;
    else {
      tensorflowStatus = "available";
      backendInfo.tensorflow = probe.find((p) => p.info)?.info;
      backends.push(...(two ? ["tensorflow-1t", "tensorflow-2t"] : ["tensorflow-1t"]));
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
      console.log(`webgpu: ${info?.reason ?? "available"}${webgpuSoftware ? " (a software adapter: correctness only, at most 5 timed batches, one repetition)" : ""}`);
      backends.push("webgpu");
    }
  } catch (err) {
    console.log(`webgpu: not available: probe failed (${firstLine((err as Error).message)})`);
  }
  if (o.cpu) backends.push("cpu");
  for (const b of o.skip) if (backends.includes(b)) backends.splice(backends.indexOf(b), 1);

  // The peers: their child environment without the BLAS overrides, each pinned like our rows.
  const { env: cleanEnv, removed } = peerEnv(process.env, { KERAS_BACKEND: "tensorflow", TF_CPP_MIN_LOG_LEVEL: "2" });
  const found: ReturnType<typeof findPeers> = o.peers ? findPeers(two ? [1, 2] : [1]) : { peers: [], missing: ["left out (--no-peers)"] };
  const peers: Peer[] = [];
  const peerEnvFor = (threads: number): NodeJS.ProcessEnv => ({ ...cleanEnv, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) });
  for (const p of found.peers) {
    try {
      const r = runPeer(["probe", "--framework", p.framework], pin, 1, peerEnvFor(1), p.python);
      p.probe = r.probe as Record<string, unknown>;
      peers.push(p);
      const k = p.probe;
      const blas = (k.threadpools as Array<Record<string, unknown>> | string | undefined);
      const blasLine = Array.isArray(blas) ? blas.filter((b) => b.user_api === "blas").map((b) => `${b.internal_api} ${b.version ?? ""} ${b.architecture ? `kernel ${b.architecture}` : ""}`.trim()).join(", ") : String(blas ?? "");
      console.log(`${p.version} (${p.python}): ${p.threads.map((t) => `${p.name}-${t}t`).join(", ")}; kernels: ${firstLine(String(k.kernels ?? ""), 400)}${k.jitCompile !== undefined ? `; jit_compile=${String(k.jitCompile)}` : ""}${blasLine ? `; numpy BLAS: ${blasLine}` : ""}`);
    } catch (err) {
      failures.push({ what: `${p.name} probe`, error: (err as Error).message });
      console.log(`${p.version} (${p.python}): probe FAILED, no rows (${firstLine((err as Error).message)})`);
    }
  }
  for (const m of found.missing) console.log(`peers: NOT MEASURED: ${m}`);
  console.log(`peer environment: ${Object.keys(removed).length ? `removed ${Object.entries(removed).map(([k, v]) => `${k}=${v}`).join(", ")}` : "no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE to remove"} (our rows keep the parent's environment)`);

  // Machine peak: native sgemm on one core (numpy's BLAS and torch's), and our best wasm conv tile on one core.
  const peaks: MachinePeak[] = [];
  const measurePeak = (when: string): void => {
    const mp: MachinePeak = { when, errors: [] };
    const py = peers.find((p) => p.framework === "torch")?.python ?? peers[0]?.python ?? found.numpyPython;
    if (py) {
      try {
        mp.native = runPeer(["sgemm"], pin, 1, peerEnvFor(1), py).sgemm as Record<string, unknown>;
        if (Object.keys(removed).length) mp.nativeWithOverrides = runPeer(["sgemm"], pin, 1, { ...process.env, OMP_NUM_THREADS: "1", MKL_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" }, py).sgemm as Record<string, unknown>;
      } catch (err) {
        mp.errors.push(`native sgemm: ${firstLine((err as Error).message)}`);
      }
    } else mp.errors.push(`native sgemm: no python with numpy or torch${o.peers ? "" : " looked for (--no-peers)"}`);
    try {
      mp.wasm = runWorker({ backend: "wasm", convPeak: true }, envFor("wasm"), pin, 1).find((x) => x.convPeak)?.convPeak;
    } catch (err) {
      mp.errors.push(`wasm conv tile: ${firstLine((err as Error).message)}`);
    }
    peaks.push(mp);
  };
  measurePeak("start");
  let products: ProductRow[] | undefined;
  try {
    products = runWorker({ backend: "wasm", products: true }, envFor("wasm"), pin, 1).find((x) => x.products)?.products;
  } catch (err) {
    failures.push({ what: "products table", error: (err as Error).message });
  }

  type Job = { label: string; run: (round: number) => BenchRow };
  const runs: BenchRow[] = [];
  const peerRuns: BenchRow[] = [];
  const profiles: ProfileEntry[] = [];
  const groups: Job[][] = [];
  for (const model of o.models) {
    for (const batch of o.batchSizes) {
      const group: Job[] = [];
      for (const b of backends) {
        const n = batchesFor(b, o);
        if (b === "webgpu") {
          n.warmup = Math.max(1, n.warmup); // shader compilation stays out of the timed steps
          if (webgpuSoftware) n.steps = Math.min(n.steps, 5);
        }
        group.push({
          label: `model ${model} · ${b} · batch ${batch} (${n.warmup} warm-up + ${n.steps} timed)`,
          run: (round) => {
            const profile = o.profile && round === 0 && b === "wasm" && batch === o.batchSizes[0];
            const out = runWorker({ backend: b, model, batch, warmup: n.warmup, steps: n.steps, profile }, envFor(b), pin, threadsOf(b));
            const info = out.find((x) => x.info)?.info;
            if (info && !backendInfo[b]) backendInfo[b] = info;
            const row = out.find((x) => x.row)?.row;
            if (!row) throw new Error("the worker returned no row");
            runs.push(row);
            const p = out.find((x) => x.profile)?.profile;
            if (p) profiles.push(p);
            return row;
          },
        });
      }
      for (const p of peers) {
        for (const threads of p.threads) {
          const name = `${p.name}-${threads}t`;
          if (o.skip.includes(name)) continue;
          group.push({
            label: `model ${model} · ${name} · batch ${batch} (${o.warmup} warm-up + ${o.steps} timed)`,
            run: () => {
              const r = runPeer(["train", "--framework", p.framework, "--model", String(model), "--batch", String(batch), "--threads", String(threads), "--warmup", String(o.warmup), "--steps", String(o.steps)], pin, threads, peerEnvFor(threads), p.python);
              const j = r.row as BenchRow;
              const row: BenchRow = { model, backend: name, batch, threads, warmup: o.warmup, steps: o.steps, msPerStep: j.msPerStep, samplesPerSec: j.samplesPerSec, peakRssMb: j.peakRssMb, ...(r.cores ? { cores: r.cores } : {}) };
              peerRuns.push(row);
              return row;
            },
          });
        }
      }
      groups.push(group);
    }
  }

  // A software webgpu adapter is for correctness: one repetition.
  const order = interleave(groups, o.repeats).filter((x) => !(webgpuSoftware && x.round > 0 && x.item.label.includes("· webgpu ·")));
  order.forEach(({ item: job, round }, i) => {
    const started = Date.now();
    process.stdout.write(`[${i + 1}/${order.length}] round ${round + 1}: ${job.label}… `);
    try {
      const last = job.run(round);
      console.log(`${last.samplesPerSec.toFixed(0)} samples/s, ${last.msPerStep.toFixed(1)} ms/step (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      console.log("FAILED");
      failures.push({ what: `${job.label}, round ${round + 1}`, error: (err as Error).message });
      console.error(`  ${(err as Error).message.split("\n").join("\n  ")}`);
    }
  });
  measurePeak("end");

  const macs: Record<number, number> = {};
  for (const r of runs) if (r.macsPerImage !== undefined) macs[r.model] = r.macsPerImage;
  const rows = summarize(runs, macs);
  const summed = summarize(peerRuns, macs);
  const kerasRows = summed.filter((r) => r.backend.startsWith("keras-"));
  const torchRows = summed.filter((r) => /^pytorch-\d+t$/.test(r.backend));
  const extraRows = summed.filter((r) => !kerasRows.includes(r) && !torchRows.includes(r));

  console.log(`\n${formatTable(rows, torchRows, kerasRows, extraRows)}\n`);
  console.log(`samples/s: median of ${o.repeats} interleaved run(s) per row; range: slowest–fastest run; GFLOP/s: 2 × training multiply-adds per image (lib/src/cost.ts: 3 × forward) × median samples/s.`);
  console.log("Models:");
  for (const m of o.models) console.log(`  ${m}: ${MODEL_LEGEND[m]}${macs[m] ? ` (${(macs[m] / 1e6).toFixed(2)} M training multiply-adds per image)` : ""}`);
  console.log(`Inputs: ${INPUTS}. Optimizer: Adam, lr 1e-3 (lib's makeOptimizer: the fused update on wasm), sparse categorical cross-entropy (PyTorch: CrossEntropyLoss on logits; Keras: model.train_on_batch as tfjs's trainOnBatch).`);
  console.log(`Threads: wasm and wasm-minimal run on one thread; wasm-2t on two (the threaded XNNPACK build); tensorflow-Nt, keras-Nt (intra-op N, inter-op 1) and pytorch-Nt (torch.set_num_threads) on N; every row ${pin.taskset ? "pinned with taskset to as many cores as threads" : "UNPINNED"}. Ratios compare equal thread counts.`);
  console.log(`Batches: wasm and the peers ${o.warmup} warm-up + ${o.steps} timed${o.minimal ? `; wasm-minimal ${batchesFor("wasm-minimal", o).warmup} + ${batchesFor("wasm-minimal", o).steps}` : ""}${o.cpu ? `; cpu ${batchesFor("cpu", o).warmup} + ${batchesFor("cpu", o).steps}` : ""}. Peak RSS: each row's own process (maxRSS), the largest of its runs.`);
  console.log(`tensorflow (tfjs-node): ${tensorflowStatus}`);
  for (const m of found.missing) console.log(`peers: NOT MEASURED: ${m}`);

  const fmtPeak = (p: MachinePeak): string => {
    const n = p.native as { numpy?: { gflops: number; threadpools?: Array<Record<string, unknown>> }; torch?: { gflops: number } } | undefined;
    const arch = n?.numpy?.threadpools && Array.isArray(n.numpy.threadpools) ? n.numpy.threadpools.find((t) => t.user_api === "blas")?.architecture : undefined;
    const w = p.nativeWithOverrides as { numpy?: { gflops: number } } | undefined;
    const parts = [
      n?.numpy ? `numpy sgemm ${n.numpy.gflops.toFixed(1)} GFLOP/s (${arch ? `OpenBLAS kernel ${String(arch)}` : "BLAS kernel unknown: no threadpoolctl"})` : undefined,
      w?.numpy ? `with the machine's ${Object.keys(removed).join("/")}: ${w.numpy.gflops.toFixed(1)}` : undefined,
      n?.torch ? `torch.mm ${n.torch.gflops.toFixed(1)} GFLOP/s` : undefined,
      p.wasm ? `wasm SIMD128 conv tile ${p.wasm.gflops.toFixed(1)} GFLOP/s (${p.wasm.shape})` : undefined,
      ...p.errors,
    ].filter(Boolean);
    return `  ${p.when}: ${parts.join("; ")}`;
  };
  console.log("\nMachine peak, one core (n = 1024 float32 products, best of 5; the wasm conv best of 12):");
  for (const p of peaks) console.log(fmtPeak(p));
  if (products) {
    console.log("Model 2's dense-layer products, one core: old route (XNNPACK, transposed operands copied) vs tiled SIMD128 (lib/src/backend/tiled-gemm.ts); median of 7 interleaved rounds:");
    for (const line of formatProducts(products)) console.log(line);
  }

  const targets = checkTargets(rows, torchRows, o.models);
  const kerasTargets = checkKerasTargets(rows, kerasRows, o.models);
  console.log(`\nTargets vs Keras at equal threads (issue 17; batch ${TARGET_BATCH}, median samples/s):`);
  for (const t of kerasTargets) {
    console.log(`  model ${t.model}, ${t.backend}: ≥ ${t.target}×  ${t.ratio === undefined ? "n/a" : `${t.ratio.toFixed(2)}×`}  ${t.verdict}${t.verdict === "n/a" ? (kerasRows.length ? " (row missing)" : " (Keras not measured)") : ""}`);
  }
  console.log(`Earlier targets (wasm, batch ${TARGET_BATCH}, over PyTorch on 1 thread):`);
  for (const t of targets) {
    console.log(`  model ${t.model}: ≥ ${t.target}×  ${t.ratio === undefined ? "n/a" : `${t.ratio.toFixed(2)}×`}  ${t.verdict}${t.verdict === "n/a" ? (torchRows.length ? " (row missing)" : " (PyTorch not measured)") : ""}`);
  }
  if (!o.batchSizes.includes(TARGET_BATCH)) console.log(`  (batch ${TARGET_BATCH} was not run: no target check)`);
  const all = [...rows, ...summed];
  const scaling = o.models.flatMap((model) => o.batchSizes.map((batch) => {
    const s = (one: string, twoT: string): number | undefined => {
      const a1 = all.find((r) => r.backend === one && r.model === model && r.batch === batch);
      const a2 = all.find((r) => r.backend === twoT && r.model === model && r.batch === batch);
      return a1 && a2 && a1.samplesPerSec > 0 ? a2.samplesPerSec / a1.samplesPerSec : undefined;
    };
    return { model, batch, wasm: s("wasm", "wasm-2t"), keras: s("keras-1t", "keras-2t"), pytorch: s("pytorch-1t", "pytorch-2t"), tensorflow: s("tensorflow-1t", "tensorflow-2t") };
  }));
  if (two) {
    console.log("Two threads over one (median samples/s):");
    for (const x of scaling) {
      const f = (v?: number): string => (v === undefined ? "–" : `${v.toFixed(2)}×`);
      console.log(`  model ${x.model}, batch ${x.batch}: wasm ${f(x.wasm)}, keras ${f(x.keras)}, pytorch ${f(x.pytorch)}, tensorflow (tfjs-node) ${f(x.tensorflow)}`);
    }
  }
  for (const batch of o.batchSizes) console.log(`\nMarkdown, batch ${batch}:\n${markdownSummary(all, batch)}`);

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
  const loadEnd = os.loadavg();
  console.log(`\nload average at end: ${loadEnd.map((x) => x.toFixed(1)).join(" ")} on ${os.cpus().length} cores${loadEnd[0] > os.cpus().length * 0.75 || loadStart[0] > os.cpus().length * 0.75 ? " (a shared, busy machine: only ratios within this run mean anything)" : ""}`);
  const json = {
    date: stamp,
    ...gitCommit(),
    command: `npm run bench -- ${argv.join(" ")}`.trim(),
    node: process.version,
    tfjs: tfjsVersion,
    backends: backendInfo,
    tensorflow: tensorflowStatus,
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    loadAverage: { start: loadStart, end: loadEnd },
    pinning: pin,
    peerEnvironment: { removed },
    peers: peers.map((p) => ({ name: p.name, framework: p.framework, version: p.version, python: p.python, threads: p.threads, probe: p.probe })),
    peersMissing: found.missing,
    torch: torchRows.length ? { version: peers.find((p) => p.name === "pytorch")?.version, python: peers.find((p) => p.name === "pytorch")?.python, threads: peers.find((p) => p.name === "pytorch")?.threads } : { skipped: found.missing.join("; ") || "no rows" },
    machinePeak: peaks,
    products,
    options: o,
    inputs: INPUTS,
    models: Object.fromEntries(o.models.map((m) => [m, MODEL_LEGEND[m]])),
    macsPerImage: macs,
    rows: rows.map((r) => ({ ...r, ratioToTorch: ratioTo(r, torchRows), ratioToKeras: ratioToKeras(r, kerasRows), speedupOverMinimal: r.backend.startsWith("wasm") && r.backend !== "wasm-minimal" ? speedupOver(r, rows, "wasm-minimal") : undefined })),
    kerasRows,
    torchRows,
    extraPeerRows: extraRows,
    runs: [...runs, ...peerRuns],
    targets,
    kerasTargets,
    scaling,
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
  } else if (argv[0] === "--scaling") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.exitCode = (require("./bench/scaling") as typeof import("./bench/scaling")).scalingMain(argv.slice(1));
  } else {
    try {
      process.exitCode = main(argv);
    } catch (err) {
      console.error(`bench: ${(err as Error).message}`);
      process.exitCode = 1;
    }
  }
}
