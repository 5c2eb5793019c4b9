/**
 * Training equivalence of a backend with the pure-JS cpu backend: the same model (registry name),
 * the same start weights (made once on cpu and copied), the same real Fashion-MNIST batches, a few
 * Adam steps on each; the per-step losses must agree within a relative tolerance. Used by
 * test/backend-equivalence.test.ts and `npm run gpu:check`.
 *
 * Each backend runs in its own child process (`--worker`), so a backend that crashes or hangs in
 * native code cannot take the caller with it, and nothing of one backend's global state (kernels,
 * registered backends) affects another.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Losses must agree within this relative difference (issue 18). */
export const LOSS_RTOL = 1e-4;

export interface EquivalenceSpec {
  backend: "cpu" | "wasm" | "webgpu" | "tensorflow";
  model: string;
  steps: number;
  batch: number;
  /** Model options on top of seed 1, e.g. { optimizer: "sgd" }. */
  options?: { optimizer?: "adam" | "sgd" | "rmsprop"; learningRate?: number };
}

export interface WorkerOutput {
  backendLine?: string;
  adapter?: string;
  losses?: number[];
  unavailable?: string;
  msPerStep?: number[];
}

export interface Comparison {
  model: string;
  backend: string;
  cpu: number[];
  other: number[];
  maxRelDiff: number;
  ok: boolean;
}

/**
 * What is compared: model 1 with Adam as the registry builds it over two updates, and `best` over
 * one SGD update (Adam's first updates turn last-digit gradient differences into ±lr steps, and
 * later updates flip ReLU/max-pool ties; measured in test/backend-equivalence.test.ts).
 */
export const EQUIVALENCE_CASES: ReadonlyArray<Omit<EquivalenceSpec, "backend">> = [
  { model: "cnn_maxpool", steps: 3, batch: 32 },
  { model: "best", steps: 2, batch: 16, options: { optimizer: "sgd" } },
];

const WORKER = __filename;

/** Runs one backend's steps in a child process (steps 0: only starts it); `unavailable` when the backend cannot start. */
export function runEquivalenceWorker(spec: EquivalenceSpec, env: NodeJS.ProcessEnv = process.env, timeoutMs = 15 * 60_000): WorkerOutput {
  const childEnv = { ...env };
  delete childEnv.FMNIST_BACKEND;
  const r = spawnSync(process.execPath, ["--import", "tsx", WORKER, "--worker", JSON.stringify(spec)], {
    cwd: path.resolve(__dirname, "..", ".."),
    env: childEnv,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = (r.stdout ?? "").split("\n").reverse().find((l) => l.startsWith("@@ "));
  if (!line) {
    const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
    throw new Error(`equivalence worker for ${spec.backend}/${spec.model} gave no result (${why}):\n${(r.stderr ?? "").split("\n").slice(-15).join("\n")}`);
  }
  return JSON.parse(line.slice(3)) as WorkerOutput;
}

/** Hash of every file under lib/src: a cached cpu reference is used only for the exact same library. */
function libraryHash(): string {
  const h = createHash("sha256");
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) h.update(p).update(fs.readFileSync(p));
    }
  };
  walk(path.resolve(__dirname, "..", "..", "lib", "src"));
  return h.digest("hex").slice(0, 16);
}

/**
 * The cpu backend's losses for a spec. The pure-JS backend takes minutes for `best` on a loaded
 * 2-core machine, so the result is kept in the temp folder, keyed by the spec and a hash of the
 * library's sources; a change to lib/src recomputes it.
 */
export function cpuReference(spec: Omit<EquivalenceSpec, "backend">, env: NodeJS.ProcessEnv = process.env): number[] {
  const key = createHash("sha256").update(JSON.stringify({ ...spec, lib: libraryHash() })).digest("hex").slice(0, 20);
  const file = path.join(os.tmpdir(), `fmnist-equivalence-cpu-${key}.json`);
  try {
    const cached = JSON.parse(fs.readFileSync(file, "utf8")) as { losses: number[] };
    if (Array.isArray(cached.losses) && cached.losses.length === spec.steps) return cached.losses;
  } catch {
    // not cached yet
  }
  const out = runEquivalenceWorker({ ...spec, backend: "cpu" }, env, 30 * 60_000);
  if (!out.losses) throw new Error(`cpu reference for ${spec.model}: ${out.unavailable ?? "no losses"}`);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ spec, losses: out.losses }));
  fs.renameSync(tmp, file);
  return out.losses;
}

/** Largest relative difference of the per-step losses. */
export function maxRelativeDifference(a: number[], b: number[]): number {
  if (a.length !== b.length) throw new Error(`loss curves of different lengths: ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) return Infinity;
    worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(Math.abs(a[i]), 1e-12));
  }
  return worst;
}

export function compare(model: string, backend: string, cpu: number[], other: number[]): Comparison {
  const maxRelDiff = maxRelativeDifference(cpu, other);
  return { model, backend, cpu, other, maxRelDiff, ok: maxRelDiff <= LOSS_RTOL };
}

async function worker(spec: EquivalenceSpec): Promise<void> {
  const emit = (o: WorkerOutput): void => void process.stdout.write(`@@ ${JSON.stringify(o)}\n`);
  const tf = await import("@tensorflow/tfjs");
  const { initBackend } = await import("../../lib/src/backend/select");
  const { buildModel } = await import("../../lib/src/models");
  const { loadFashionMnist, toTensors } = await import("../../lib/src/data/index");
  let info;
  try {
    info = await initBackend(spec.backend);
  } catch (err) {
    return emit({ unavailable: (err as Error).message.split("\n")[0] });
  }
  const backendLine = `${info.name} (${info.package}; ${info.reason})`;
  const adapter = info.adapter ? `${info.adapter.device || info.adapter.description} (${info.adapter.software ? "software" : "hardware"}, ${info.adapter.api})` : undefined;
  if (spec.steps === 0) return emit({ backendLine, adapter, losses: [] }); // a probe: does it start?
  // The start weights: made on cpu from the model's seeded initialisers, copied to this backend.
  const start = await (async () => {
    if (spec.backend === "cpu") return undefined;
    await tf.setBackend("cpu");
    const m = buildModel(spec.model, { seed: 1, ...spec.options });
    const ws = await Promise.all(m.getWeights().map(async (w) => ({ shape: w.shape, values: await w.data() })));
    m.dispose();
    await tf.setBackend(info.name);
    return ws;
  })();
  const model = buildModel(spec.model, { seed: 1, ...spec.options });
  if (start) model.setWeights(start.map((w) => tf.tensor(w.values, w.shape, "float32")));
  const set = loadFashionMnist("train");
  const losses: number[] = [];
  const msPerStep: number[] = [];
  for (let s = 0; s < spec.steps; s++) {
    const { xs, ys } = toTensors(set, Array.from({ length: spec.batch }, (_, i) => s * spec.batch + i));
    const t0 = performance.now();
    // trainOnBatch reads the loss back asynchronously (no dataSync: works on webgpu).
    const labels = ys.toFloat();
    const out = await model.trainOnBatch(xs, labels);
    msPerStep.push(performance.now() - t0);
    losses.push(Array.isArray(out) ? out[0] : out);
    tf.dispose([xs, ys, labels]);
  }
  emit({ backendLine, adapter, losses, msPerStep });
}

if (process.argv[2] === "--worker") {
  worker(JSON.parse(process.argv[3]) as EquivalenceSpec).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
