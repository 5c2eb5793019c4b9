/**
 * The study's configuration: typed defaults with reasons, two profiles (quick for CI, full
 * for the write-ups' settings), and FMNIST_* environment overrides validated strictly.
 */
import * as os from "node:os";
import * as path from "node:path";

/** Named sets of defaults. */
export type ProfileName = "quick" | "full";
/** Which TensorFlow.js backend to use; "auto" picks the fastest that loads. */
export type BackendRequest = "auto" | "tensorflow-gpu" | "tensorflow" | "webgpu" | "wasm" | "cpu";

/** Everything a notebook needs to know to reproduce its numbers. */
export interface Config {
  profile: ProfileName;
  seed: number;
  dataDir: string;
  artifactsDir: string;
  trainSize: number;
  valSize: number;
  testSize: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  backend: BackendRequest;
  /** FMNIST_WASM_KERNELS: which wasm training kernels to register (lib/src/backend/kernels/). Speed only. */
  wasmKernels: WasmKernelSet;
  /** FMNIST_WASM_THREADS: wasm threads, "auto" (one per core, at most 8) or 1–8. Speed only: results do not depend on it. */
  wasmThreads: WasmThreads;
}

export const PROFILE_NAMES: readonly ProfileName[] = ["quick", "full"];
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "tensorflow-gpu", "tensorflow", "webgpu", "wasm", "cpu"];

/** Both lib/src (tests via tsx) and lib/dist (notebooks) sit two levels below the repository. */
const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Full-size limits of the dataset: the 60,000 training images feed train + validation. */
export const DATASET_LIMITS = { trainPool: 60000, test: 10000 } as const;

const COMMON = {
  seed: 42, // any fixed integer: every split, shuffle, init and augmentation derives from it
  dataDir: path.join(REPO_ROOT, "data", "fashion-mnist"), // the committed copy, so runs are offline
  artifactsDir: path.join(REPO_ROOT, "artifacts"), // splits, models, results; gitignored build output
  batchSize: 32, // write-up 001's setting (and Keras' default), used by every write-up
  learningRate: 0.001, // Adam's default, which all write-ups used
  backend: "auto" as BackendRequest, // fastest available: tfjs-node-gpu > tfjs-node > webgpu (hardware adapter) > wasm > cpu
  wasmKernels: "fast" as WasmKernelSet, // ours: several times faster than upstream's; "minimal" is the benchmark's "before"
  wasmThreads: "auto" as WasmThreads, // every core (results are the same on any thread count)
};

/** Profile defaults. Full = the write-ups' settings; quick = small enough for CI in minutes. */
export const PROFILES: Readonly<Record<ProfileName, Omit<Config, "profile">>> = {
  quick: {
    ...COMMON,
    trainSize: 4000, // 400 per class: enough for CNNs to beat chance clearly in seconds
    valSize: 1000, // 100 per class: accuracy resolution of 0.1 point
    testSize: 2000, // 200 per class: keeps evaluation under a second
    epochs: 2, // one epoch to learn, a second to show a learning curve
  },
  full: {
    ...COMMON,
    trainSize: 50000, // 60,000 minus a validation set as large as the test set
    valSize: 10000, // 1,000 per class, stratified from the training images
    testSize: 10000, // the whole official test set
    epochs: 10, // write-up 001's training setup
  },
};

/** The environment variable for each config key. */
export const ENV_KEYS: Readonly<Record<keyof Config, string>> = {
  profile: "FMNIST_PROFILE",
  seed: "FMNIST_SEED",
  dataDir: "FMNIST_DATA_DIR",
  artifactsDir: "FMNIST_ARTIFACTS_DIR",
  trainSize: "FMNIST_TRAIN_SIZE",
  valSize: "FMNIST_VAL_SIZE",
  testSize: "FMNIST_TEST_SIZE",
  epochs: "FMNIST_EPOCHS",
  batchSize: "FMNIST_BATCH_SIZE",
  learningRate: "FMNIST_LEARNING_RATE",
  backend: "FMNIST_BACKEND",
  wasmKernels: "FMNIST_WASM_KERNELS",
  wasmThreads: "FMNIST_WASM_THREADS",
};

/** Which wasm kernels to register: fast (default) or minimal (only what training needs; the benchmarks' "before"). */
export const WASM_KERNEL_SETS = ["fast", "minimal"] as const;
export type WasmKernelSet = (typeof WASM_KERNEL_SETS)[number];
/** Highest wasm thread count: tfjs pre-creates 8 pthread workers. */
export const MAX_WASM_THREADS = 8;
/** Wasm threads asked for: "auto" = one per core (at most {@link MAX_WASM_THREADS}), or a count. */
export type WasmThreads = "auto" | number;

/** The wasm backend's settings as initBackend uses them: the kernel set, and the thread count with "auto" resolved. */
export interface WasmSettings {
  /** FMNIST_WASM_THREADS: "auto" (default) = one per core, at most 8; or 1–8. */
  threads: number;
  /** FMNIST_WASM_KERNELS. */
  kernels: WasmKernelSet;
}

function parseWasmThreads(raw: string | number, source: string): WasmThreads {
  const text = String(raw).trim();
  if (text === "auto") return "auto";
  const threads = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(threads >= 1 && threads <= MAX_WASM_THREADS)) {
    fail(`${source} = "${text}": use auto (one thread per core) or a whole number from 1 to ${MAX_WASM_THREADS}.`);
  }
  return threads;
}

function parseWasmKernels(raw: string | number, source: string): WasmKernelSet {
  if (!(WASM_KERNEL_SETS as readonly unknown[]).includes(raw)) {
    fail(`${source} = "${raw}": choose fast (default) or minimal (only what training needs; for benchmarks).`);
  }
  return raw as WasmKernelSet;
}

/** The wasm settings of a configuration, "auto" threads resolved for `cpus` cores. */
export function wasmSettingsOf(cfg: Pick<Config, "wasmKernels" | "wasmThreads">, cpus: number = os.cpus().length): WasmSettings {
  const threads = cfg.wasmThreads === "auto" ? Math.max(1, Math.min(MAX_WASM_THREADS, cpus)) : cfg.wasmThreads;
  return { threads, kernels: cfg.wasmKernels };
}

/**
 * Reads and validates FMNIST_WASM_THREADS and FMNIST_WASM_KERNELS alone (as {@link resolveConfig}
 * does): the wasm settings when no Config is at hand. Invalid values are errors whichever backend
 * is requested: under "auto" they used to be caught with wasm's real failures and silently become
 * the 6× slower cpu backend (issue 16, item 4).
 */
export function wasmSettings(env: NodeJS.ProcessEnv = process.env, cpus: number = os.cpus().length): WasmSettings {
  const wasmThreads = parseWasmThreads(env[ENV_KEYS.wasmThreads] ?? "auto", ENV_KEYS.wasmThreads);
  const wasmKernels = parseWasmKernels(env[ENV_KEYS.wasmKernels] ?? "fast", ENV_KEYS.wasmKernels);
  return wasmSettingsOf({ wasmThreads, wasmKernels }, cpus);
}

/**
 * FMNIST_* variables that are not shared configuration but are allowed here: set by the runner, read by the
 * backend, a notebook's own parameter (each such notebook validates its own; the others ignore it, so
 * `--set TRIALS=32` may apply to a whole run), or read by the project's tools (a shell that set one for a tool
 * can still start JupyterLab). Any other FMNIST_* name is taken for a typo and rejected.
 */
const OTHER_ALLOWED_ENV: ReadonlySet<string> = new Set([
  // runner and backend
  "FMNIST_UNDER_TEST", "FMNIST_NOTEBOOK", "FMNIST_PROGRESS", "FMNIST_WASM_KERNELS", "FMNIST_WASM_THREADS", "FMNIST_WEBGPU_ADAPTER",
  // notebooks' own parameters: 04's FMNIST_MODELS, 10's FMNIST_TRIALS
  "FMNIST_MODELS", "FMNIST_TRIALS",
  // the tools: sharding, container provenance, caches and Python environments
  "FMNIST_SHARD", "FMNIST_SHARD_COUNT", "FMNIST_COMMIT", "FMNIST_CACHE_DIR", "FMNIST_JUPYTER_VENV",
  "FMNIST_KERAS_VENV", "FMNIST_KERAS_PYTHON", "FMNIST_PEERS_PYTHON", "FMNIST_PEERS_BASE_PYTHON",
]);

type IntKey = "seed" | "trainSize" | "valSize" | "testSize" | "epochs" | "batchSize";
const INT_RANGES: Record<IntKey, [number, number]> = {
  seed: [0, 2 ** 31 - 1],
  trainSize: [10, DATASET_LIMITS.trainPool - 10],
  valSize: [10, DATASET_LIMITS.trainPool - 10],
  testSize: [10, DATASET_LIMITS.test],
  epochs: [1, 1000],
  batchSize: [1, 65536],
};

function fail(msg: string): never {
  throw new Error(`Invalid configuration: ${msg}`);
}

function parseInteger(key: IntKey, raw: string | number, source: string): number {
  const value = typeof raw === "number" ? raw : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  const [lo, hi] = INT_RANGES[key];
  if (!Number.isInteger(value) || value < lo || value > hi) {
    fail(`${source} = ${JSON.stringify(raw)}: ${key} must be a whole number from ${lo} to ${hi}.`);
  }
  return value;
}

function parseLearningRate(raw: string | number, source: string): number {
  const value = typeof raw === "number" ? raw : raw.trim() === "" ? NaN : Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 10) {
    fail(`${source} = ${JSON.stringify(raw)}: learningRate must be a number greater than 0 and at most 10 (e.g. 0.001).`);
  }
  return value;
}

function parseChoice<T extends string>(key: string, raw: unknown, choices: readonly T[], source: string): T {
  if (typeof raw !== "string" || !(choices as readonly string[]).includes(raw)) {
    fail(`${source} = ${JSON.stringify(raw)}: unknown ${key}; choose one of ${choices.join(", ")}.`);
  }
  return raw as T;
}

function parseValue(key: keyof Config, raw: string | number, source: string): Config[keyof Config] {
  switch (key) {
    case "profile":
      return parseChoice("profile", raw, PROFILE_NAMES, source);
    case "backend":
      return parseChoice("backend", raw, BACKEND_REQUESTS, source);
    case "dataDir":
    case "artifactsDir":
      if (typeof raw !== "string" || raw.trim() === "") fail(`${source} must be a non-empty folder path.`);
      return path.resolve(raw);
    case "learningRate":
      return parseLearningRate(raw, source);
    case "wasmKernels":
      return parseWasmKernels(raw, source);
    case "wasmThreads":
      return parseWasmThreads(raw, source);
    default:
      return parseInteger(key, raw, source);
  }
}

/**
 * Resolves the configuration: profile defaults (FMNIST_PROFILE, default "quick"), then
 * FMNIST_* environment overrides, then explicit `overrides`. Unknown FMNIST_* variables,
 * unknown keys and invalid values throw an error that lists the valid choices.
 * @example const cfg = resolveConfig(); // in every notebook's first cell
 */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const known = new Set(Object.values(ENV_KEYS));
  for (const name of Object.keys(env)) {
    if (name.startsWith("FMNIST_") && !known.has(name) && !OTHER_ALLOWED_ENV.has(name)) {
      fail(`unknown environment variable ${name}; valid ones are ${[...known].join(", ")}.`);
    }
  }
  for (const key of Object.keys(overrides)) {
    if (!(key in ENV_KEYS)) fail(`unknown key "${key}"; valid keys are ${Object.keys(ENV_KEYS).join(", ")}.`);
  }
  const profileRaw = overrides.profile ?? env[ENV_KEYS.profile] ?? "quick";
  const profile = parseChoice("profile", profileRaw, PROFILE_NAMES, overrides.profile ? "profile" : ENV_KEYS.profile);
  const cfg: Config = { profile, ...PROFILES[profile] };
  const mutable = cfg as unknown as Record<keyof Config, Config[keyof Config]>;
  for (const key of Object.keys(ENV_KEYS) as (keyof Config)[]) {
    if (key === "profile") continue;
    const raw = env[ENV_KEYS[key]];
    if (raw !== undefined) mutable[key] = parseValue(key, raw, ENV_KEYS[key]);
  }
  for (const [key, raw] of Object.entries(overrides) as [keyof Config, unknown][]) {
    if (key === "profile" || raw === undefined) continue;
    if (typeof raw !== "string" && typeof raw !== "number") fail(`${key} must be a string or number, got ${typeof raw}.`);
    mutable[key] = parseValue(key, raw, key);
  }
  if (cfg.trainSize + cfg.valSize > DATASET_LIMITS.trainPool) {
    fail(
      `trainSize (${cfg.trainSize}) + valSize (${cfg.valSize}) exceeds the ${DATASET_LIMITS.trainPool} training images; ` +
        `lower ${ENV_KEYS.trainSize} or ${ENV_KEYS.valSize}.`,
    );
  }
  return cfg;
}

/** One line describing a config, for logs and notebook headers. */
export function describeConfig(cfg: Config): string {
  return (
    `profile=${cfg.profile} seed=${cfg.seed} train/val/test=${cfg.trainSize}/${cfg.valSize}/${cfg.testSize} ` +
    `epochs=${cfg.epochs} batch=${cfg.batchSize} lr=${cfg.learningRate} backend=${cfg.backend}`
  );
}

/** A notebook's own parameter selecting which of its parts a run does (see {@link notebookParts}). */
export interface NotebookParts {
  /** The selected parts, in the notebook's order. */
  selected: string[];
  /** Whether this run does `part`. */
  includes(part: string): boolean;
  /** The environment without the parameter, for {@link resolveConfig} (which rejects FMNIST_* names it does not know). */
  env: NodeJS.ProcessEnv;
}

/**
 * Reads a notebook's own part-selecting parameter, e.g. notebook 04's FMNIST_MODELS = "cnn32",
 * "cnn64" or "cnn32,cnn64" (default: every part). The runner sets it when a sharded run gives a
 * notebook's parts to different machines; the shared configuration never sees it, so every part of a
 * run resolves the same config.
 */
export function notebookParts(parameter: string, parts: readonly string[], env: NodeJS.ProcessEnv = process.env): NotebookParts {
  const raw = env[parameter];
  const selected = raw === undefined || raw.trim() === "" ? [...parts] : raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  const unknown = selected.filter((p) => !parts.includes(p));
  if (selected.length === 0 || unknown.length > 0) {
    fail(`${parameter} = ${JSON.stringify(raw)}: choose ${parts.join(", ")} or several, comma-separated (default: all).`);
  }
  const rest: NodeJS.ProcessEnv = { ...env };
  delete rest[parameter];
  return { selected: parts.filter((p) => selected.includes(p)), includes: (p: string) => selected.includes(p), env: rest };
}
