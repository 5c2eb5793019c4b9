// `npm run reference`: the study's reproduced models trained in Keras 3 on TensorFlow 2.21, the write-ups' own
// stack, on OUR split (the file notebook 02 writes) and OUR test images, with the settings our notebooks use; the
// results go to ARTIFACTS/reference/keras-<profile>/results/<notebook>.json (the results schema, backend "keras"),
// and a table puts each model's write-up figure, our TensorFlow.js result and Keras's side by side.
//
// Python: --python PATH or $FMNIST_KERAS_PYTHON (an interpreter that imports tensorflow and keras), else a private
// venv, $FMNIST_KERAS_VENV or ~/.cache/fmnist/keras-venv, created on first use with the pinned wheels from the
// indexes pip is configured with (the way scripts/jupyter-env.ts makes JupyterLab's). The training itself is
// scripts/reference/keras_reference.py, which this script hands a job file.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROFILE_NAMES, resolveConfig, type Config, type ProfileName } from "../lib/src/config";
import { loadFashionMnist } from "../lib/src/data/fashion-mnist";
import { loadSplit, makeSplit, saveSplit, splitPath } from "../lib/src/data/split";
import { writeFileAtomic } from "../lib/src/io";
import { isProcessAlive } from "../lib/src/process-alive";
import { resolveModelOptions, type ModelName, type ModelOptions, type ResolvedModelOptions } from "../lib/src/models";
import { trainingRecipe, type TrainingRecipe } from "../lib/src/experiment";
import { studyTestIndices } from "../lib/src/study-data";
import { pipIndexArgs } from "./jupyter-env";
import { REFERENCE_NUMBERS, type ReferenceNumber } from "./report/reference";

const REPO_ROOT = path.resolve(__dirname, "..");
export const KERAS_SCRIPT = path.join(REPO_ROOT, "scripts", "reference", "keras_reference.py");

/** What the venv installs: the write-ups' stack, CPU build, at the versions the reference table was measured with. */
export const KERAS_PINS = ["tensorflow-cpu==2.21.0", "keras==3.15.1"] as const;
export const KERAS_VENV_ENV = "FMNIST_KERAS_VENV";
export const KERAS_PYTHON_ENV = "FMNIST_KERAS_PYTHON";
/** Written into the venv once the pinned install succeeded; a venv without it (or with other pins) is rebuilt. */
const STAMP = ".fmnist-keras-env.json";

export const REFERENCE_USAGE = `usage: npm run reference -- [--profile quick|full] [--models a,b] [options]

Trains the study's reproduced models in Keras 3 on TensorFlow (CPU) on the split notebook 02 writes and the test
images the notebooks use, with the profile's epochs, batch size, optimizer, learning rate and seed, and prints each
model's write-up figure, our TensorFlow.js result and Keras's. Results: ARTIFACTS/reference/keras-<profile>/results/.

  --profile quick|full   profile (default: $FMNIST_PROFILE, else quick)
  --models a,b           runs to train (default: all): ${"{RUNS}"}
  --python PATH          a python that imports tensorflow and keras (also $${KERAS_PYTHON_ENV}); default: the venv
                         $${KERAS_VENV_ENV}, else ~/.cache/fmnist/keras-venv, created on first use (${KERAS_PINS.join(", ")})
  --no-install           fail instead of creating the venv when it is missing
  --table-only           train nothing: print the table from the results already there
  --ours auto|results|baseline
                         our figures: ARTIFACTS/results/ when it holds this profile's run of the notebook (auto, default),
                         only there (results), or notebooks/baselines/<profile>.json (baseline)
  --write                also replace the profile's table between its KERAS markers in README.md
  --artifacts DIR        artifacts folder (default: $FMNIST_ARTIFACTS_DIR, else artifacts/)
  -h, --help             this text`;

/** One training run of a notebook that Keras repeats: the registry model and what the notebook changes about it. */
export interface ReferenceRun {
  /** The run's name in our results (and Keras's). */
  name: string;
  notebook: string;
  model: ModelName;
  /** Model options the notebook gives beyond the configuration's seed and learning rate. */
  modelOptions?: ModelOptions;
  /** Epochs the notebook forces (otherwise the registry recipe's). */
  epochs?: number;
  /** Inputs multiplied by this (notebook 03's lesson feeds raw 0–255 pixels). */
  inputScale?: number;
}

/** Every run of notebooks 03–08, as the notebooks make them (notebook 10's `best` is ours, not the write-ups'). */
export const REFERENCE_RUNS: readonly ReferenceRun[] = [
  { name: "dense_shallow", notebook: "03-dense-shallow", model: "dense_shallow" },
  { name: "dense_shallow_unnormalised", notebook: "03-dense-shallow", model: "dense_shallow", modelOptions: { learningRate: 0.01 }, epochs: 1, inputScale: 255 },
  { name: "cnn32", notebook: "04-cnn-32-vs-64", model: "cnn32" },
  { name: "cnn64", notebook: "04-cnn-32-vs-64", model: "cnn64" },
  { name: "cnn_maxpool", notebook: "05-cnn-maxpool", model: "cnn_maxpool" },
  { name: "cnn_maxpool_rmsprop", notebook: "05-cnn-maxpool", model: "cnn_maxpool", modelOptions: { optimizer: "rmsprop" } },
  { name: "cnn_simple", notebook: "06-cnn-deep", model: "cnn_simple" },
  { name: "cnn_deep", notebook: "06-cnn-deep", model: "cnn_deep" },
  { name: "cnn_deeper", notebook: "06-cnn-deep", model: "cnn_deeper" },
  { name: "dense_regularized", notebook: "07-regularization-early-stopping", model: "dense_regularized" },
  { name: "cnn_augmented", notebook: "08-augmentation", model: "cnn_augmented" },
];

export type OursSource = "auto" | "results" | "baseline";

export interface ReferenceArgs {
  profile: ProfileName;
  /** Run names, in REFERENCE_RUNS order. */
  runs: string[];
  python?: string;
  install: boolean;
  tableOnly: boolean;
  ours: OursSource;
  write: boolean;
  artifacts?: string;
  help: boolean;
}

/** A mistake on the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function usage(): string {
  return REFERENCE_USAGE.replace("{RUNS}", REFERENCE_RUNS.map((r) => r.name).join(", "));
}

/** Parses the command line (env supplies FMNIST_PROFILE and FMNIST_KERAS_PYTHON defaults). */
export function parseReferenceArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ReferenceArgs {
  const out: ReferenceArgs = { profile: "quick", runs: REFERENCE_RUNS.map((r) => r.name), install: true, tableOnly: false, ours: "auto", write: false, help: false };
  let profile: string | undefined = env.FMNIST_PROFILE;
  let python: string | undefined = env[KERAS_PYTHON_ENV] || undefined;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const take = (): string => (inline !== undefined ? inline : value(i++, flag));
    switch (flag) {
      case "--profile":
        profile = take();
        break;
      case "--models": {
        const names = take().split(",").map((s) => s.trim()).filter(Boolean);
        const known = REFERENCE_RUNS.map((r) => r.name);
        const unknown = names.filter((n) => !known.includes(n));
        if (unknown.length > 0) throw new UsageError(`unknown model ${unknown.join(", ")}; choose from ${known.join(", ")}`);
        if (names.length === 0) throw new UsageError("--models needs at least one name");
        out.runs = known.filter((n) => names.includes(n));
        break;
      }
      case "--python":
        python = take();
        break;
      case "--ours": {
        const v = take();
        if (v !== "auto" && v !== "results" && v !== "baseline") throw new UsageError(`--ours ${v}: choose auto, results or baseline`);
        out.ours = v;
        break;
      }
      case "--artifacts":
        out.artifacts = path.resolve(take());
        break;
      case "--no-install":
        out.install = false;
        break;
      case "--table-only":
        out.tableOnly = true;
        break;
      case "--write":
        out.write = true;
        break;
      case "-h":
      case "--help":
        out.help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  }
  if (profile !== undefined) {
    if (!(PROFILE_NAMES as readonly string[]).includes(profile)) throw new UsageError(`--profile ${profile}: choose ${PROFILE_NAMES.join(" or ")}`);
    out.profile = profile as ProfileName;
  }
  if (python !== undefined) out.python = python;
  return out;
}

// ---------------------------------------------------------------------------------------------
// The job handed to keras_reference.py.

export interface JobRun {
  name: string;
  notebook: string;
  model: ModelName;
  options: ResolvedModelOptions;
  epochs: number;
  batchSize: number;
  seed: number;
  earlyStopping: TrainingRecipe["earlyStopping"] | null;
  augment: TrainingRecipe["augment"] | null;
  inputScale: number;
  /** The registry model's parameter count: Keras's must equal it (same layers). */
  expectedParams: number;
}

export interface Job {
  schema: 1;
  profile: ProfileName;
  config: Config;
  dataDir: string;
  splitFile: string;
  splitId: string;
  testIndices: number[];
  outDir: string;
  evalBatchSize: number;
  runOrder: string[];
  runs: JobRun[];
}

/** Where Keras's results for a profile go: an artifacts-like tree, so readResults and results:table read it. */
export function kerasArtifactsDir(artifactsDir: string, profile: ProfileName): string {
  return path.join(artifactsDir, "reference", `keras-${profile}`);
}

/**
 * One run's training as its notebook does it under `cfg` (experiment.ts's train: the configuration's batch size,
 * seed and learning rate, the registry's recipe, the notebook's own overrides).
 */
export function jobRun(run: ReferenceRun, cfg: Config, countParams: (model: ModelName, o: ResolvedModelOptions) => number): JobRun {
  const recipe = trainingRecipe(run.model, cfg);
  const options = resolveModelOptions(run.model, { seed: cfg.seed, learningRate: cfg.learningRate, ...run.modelOptions });
  if (recipe.learningRateSchedule) throw new Error(`${run.name}: learning-rate schedules are not part of the Keras reference`);
  return {
    name: run.name,
    notebook: run.notebook,
    model: run.model,
    options,
    epochs: run.epochs ?? recipe.epochs,
    batchSize: cfg.batchSize,
    seed: cfg.seed,
    earlyStopping: recipe.earlyStopping ?? null,
    augment: recipe.augment ?? null,
    inputScale: run.inputScale ?? 1,
    expectedParams: countParams(run.model, options),
  };
}

/** The registry model's parameter count (built on tfjs's cpu backend, then freed). */
export async function registryParams(model: ModelName, o: ResolvedModelOptions): Promise<number> {
  const tf = await import("@tensorflow/tfjs");
  if (tf.getBackend() !== "cpu") await tf.setBackend("cpu");
  const { buildModel } = await import("../lib/src/models");
  const { disposeModel } = await import("../lib/src/dispose-model");
  const built = buildModel(model, o);
  try {
    return built.countParams();
  } finally {
    disposeModel(built);
  }
}

// ---------------------------------------------------------------------------------------------
// Python with TensorFlow and Keras.

export interface KerasPython {
  python: string;
  versions: { tensorflow: string; keras: string; python: string };
}

/** How to get TensorFlow and Keras, for the error messages. */
export function installHint(venv: string): string {
  return (
    `\`npm run reference\` creates ${venv} with ${KERAS_PINS.join(" and ")} itself (drop --no-install); by hand: ` +
    `python3 -m venv ${venv} && ${venv}/bin/pip install ${KERAS_PINS.join(" ")} (pip needs an index that serves them: ` +
    `pip config list, or PIP_INDEX_URL), or pass --python PATH to any python that imports tensorflow and keras`
  );
}

/**
 * Whether `python` imports tensorflow and keras: its versions, or a sentence saying what is missing.
 * @param timeoutMs importing TensorFlow takes 5–20 s on a busy machine
 */
export function probeKerasPython(python: string, venvForHint: string, timeoutMs = 180_000): KerasPython | { missing: string } {
  const code = "import json, platform, sys\nimport tensorflow as tf, keras\nsys.stdout.write(json.dumps({'tensorflow': tf.__version__, 'keras': keras.__version__, 'python': platform.python_version()}))";
  const r = spawnSync(python, ["-c", code], { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" } });
  const hint = installHint(venvForHint);
  if (r.error) {
    const why = (r.error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : r.error.message;
    return { missing: `python ${python}: ${why}. ${hint}` };
  }
  if (r.status !== 0) {
    const last = (r.stderr || "").trim().split("\n").pop() ?? "";
    return { missing: `${python} cannot import tensorflow and keras (${last || `exit ${r.status ?? r.signal}`}). ${hint}` };
  }
  try {
    const versions = JSON.parse(r.stdout) as KerasPython["versions"];
    if (!/^3\./.test(versions.keras)) return { missing: `${python} has Keras ${versions.keras}, not Keras 3. ${hint}` };
    return { python, versions };
  } catch {
    return { missing: `${python} printed no versions (${r.stdout.slice(0, 200)}). ${hint}` };
  }
}

/** $FMNIST_KERAS_VENV, else $XDG_CACHE_HOME/fmnist/keras-venv (~/.cache/fmnist/keras-venv). */
export function kerasVenvDir(env: NodeJS.ProcessEnv = process.env, home: string = os.homedir()): string {
  if (env[KERAS_VENV_ENV]) return path.resolve(env[KERAS_VENV_ENV]!);
  return path.join(env.XDG_CACHE_HOME || path.join(home, ".cache"), "fmnist", "keras-venv");
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  console.log(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env, timeout: 30 * 60_000 });
  if (r.error) throw new Error(`${cmd} failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(" ")} … exited with ${r.status ?? r.signal}`);
}

/**
 * The python to train with: --python as given (checked), else the venv, created with the pins when it is missing
 * and `install` allows. Throws with a sentence saying how to install when there is none.
 */
export function ensureKerasPython(opts: { python?: string; install: boolean; venv?: string; basePython?: string }): KerasPython & { setupSec: number; installed: boolean } {
  const started = Date.now();
  const venv = opts.venv ?? kerasVenvDir();
  const done = (k: KerasPython, installed: boolean) => ({ ...k, installed, setupSec: (Date.now() - started) / 1000 });
  if (opts.python) {
    const found = probeKerasPython(opts.python, venv);
    if ("missing" in found) throw new Error(found.missing);
    return done(found, false);
  }
  const venvPython = path.join(venv, "bin", "python");
  const stampFile = path.join(venv, STAMP);
  const wanted = JSON.stringify({ pins: KERAS_PINS });
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8").trim() === wanted) {
    const found = probeKerasPython(venvPython, venv);
    if (!("missing" in found)) return done(found, false);
  }
  if (!opts.install) throw new Error(`no Keras venv at ${venv} (or not the pinned one). ${installHint(venv)}`);
  const base = opts.basePython ?? process.env.PYTHON ?? "python3";
  const probe = spawnSync(base, ["-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${base} ${probe.error ? "not found" : "cannot create virtual environments (no venv module)"}: install Python 3.10–3.13 with venv ` +
        `(Debian/Ubuntu: apt-get install python3 python3-venv), or pass --python PATH to a python that imports tensorflow and keras.`,
    );
  }
  if (fs.existsSync(venv)) fs.rmSync(venv, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true, mode: 0o700 });
  console.log(`Creating the Keras venv ${venv} (Python ${probe.stdout.trim()}; ${KERAS_PINS.join(", ")}): a few minutes, once.`);
  run(base, ["-m", "venv", venv], process.env);
  fs.chmodSync(venv, 0o700);
  const config = spawnSync(venvPython, ["-m", "pip", "config", "list"], { encoding: "utf8" });
  const env = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PIP_NO_INPUT: "1" };
  try {
    run(venvPython, ["-m", "pip", "install", "-qq", "--retries", "1", "--timeout", "15", ...pipIndexArgs(config.stdout ?? ""), ...KERAS_PINS], env);
  } catch (err) {
    throw new Error(`${(err as Error).message}: the pinned wheels could not be installed. ${installHint(venv)}`);
  }
  const found = probeKerasPython(venvPython, venv);
  if ("missing" in found) throw new Error(found.missing);
  fs.writeFileSync(stampFile, wanted + "\n", { mode: 0o600 });
  return done(found, true);
}

// ---------------------------------------------------------------------------------------------
// The table.

/** The figures one side has for one run. */
export interface SideFigures {
  val_acc?: number;
  test_acc?: number;
  test_loss?: number;
  train_sec?: number;
}

export interface ComparisonRow {
  run: string;
  notebook: string;
  writeUp: string;
  ours?: SideFigures;
  keras?: SideFigures;
}

interface ResultsLike {
  notebook: string;
  profile: string;
  metrics: Record<string, number>;
  config?: Partial<Config>;
  backend?: { name?: string; threads?: number; versions?: Record<string, string> };
}

function figures(metrics: Record<string, number>, run: string): SideFigures | undefined {
  const f: SideFigures = {};
  for (const k of ["val_acc", "test_acc", "test_loss", "train_sec"] as const) {
    const v = metrics[`${run}.${k}`];
    if (typeof v === "number" && Number.isFinite(v)) f[k] = v;
  }
  return f.test_acc === undefined && f.val_acc === undefined ? undefined : f;
}

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/** A results file of `notebook` in an artifacts-like folder, when present and of `profile`. */
export function readProfileResults(dir: string, notebook: string, profile: ProfileName): ResultsLike | undefined {
  const file = path.join(dir, "results", `${notebook}.json`);
  if (!fs.existsSync(file)) return undefined;
  const r = readJson(file) as ResultsLike;
  if (typeof r !== "object" || r === null || typeof r.metrics !== "object" || r.metrics === null) throw new Error(`${file} is not a results file`);
  return r.profile === profile ? r : undefined;
}

/** The baseline's metrics of one notebook (notebooks/baselines/<profile>.json), values only. */
export function baselineMetrics(baselineFile: string, notebook: string): Record<string, number> | undefined {
  if (!fs.existsSync(baselineFile)) return undefined;
  const b = readJson(baselineFile) as { notebooks?: Record<string, { metrics?: Record<string, { value?: number }> }> };
  const m = b.notebooks?.[notebook]?.metrics;
  if (!m) return undefined;
  return Object.fromEntries(Object.entries(m).flatMap(([k, v]) => (typeof v?.value === "number" ? [[k, v.value]] : [])));
}

/** "000 val 91.65; 000 test 91.00": the write-ups' headline figures for a run. */
export function writeUpFigure(run: string, reference: readonly ReferenceNumber[] = REFERENCE_NUMBERS): string {
  const cells = reference
    .filter((r) => r.ourModel === run && r.writeUp !== "anchor")
    .map((r) => `${r.writeUp} ${r.metric === "val_acc" ? "val" : r.metric === "test_acc" ? "test" : "train"} ${(100 * r.value).toFixed(2)}`);
  return cells.length > 0 ? cells.join("; ") : "–";
}

/**
 * One row per run: the write-up's figure, ours (from `oursDir`'s results of this profile, or the baseline, as
 * `source` says) and Keras's (from `kerasDir`). Also says where each side's figures came from.
 */
export function comparisonRows(opts: {
  runs: readonly ReferenceRun[];
  profile: ProfileName;
  oursDir: string;
  baselineFile: string;
  kerasDir: string;
  source: OursSource;
}): { rows: ComparisonRow[]; oursFrom: Set<string>; keras: ResultsLike[] } {
  const rows: ComparisonRow[] = [];
  const oursFrom = new Set<string>();
  const keras: ResultsLike[] = [];
  for (const run of opts.runs) {
    const row: ComparisonRow = { run: run.name, notebook: run.notebook, writeUp: writeUpFigure(run.name) };
    if (opts.source !== "baseline") {
      const r = readProfileResults(opts.oursDir, run.notebook, opts.profile);
      const f = r && figures(r.metrics, run.name);
      if (f) {
        row.ours = f;
        oursFrom.add(`${path.join(opts.oursDir, "results")} (${r.backend?.name ?? "?"})`);
      }
    }
    if (!row.ours && opts.source !== "results") {
      const m = baselineMetrics(opts.baselineFile, run.notebook);
      const f = m && figures(m, run.name);
      if (f) {
        row.ours = f;
        oursFrom.add(`${path.relative(REPO_ROOT, opts.baselineFile)} (wasm)`);
      }
    }
    const k = readProfileResults(opts.kerasDir, run.notebook, opts.profile);
    if (k) {
      if (!keras.includes(k)) keras.push(k);
      row.keras = figures(k.metrics, run.name);
    }
    rows.push(row);
  }
  return { rows, oursFrom, keras };
}

const pct = (v?: number): string => (v === undefined ? "–" : (100 * v).toFixed(2));
const loss = (v?: number): string => (v === undefined ? "–" : v.toFixed(3));
const secs = (v?: number): string => (v === undefined ? "–" : v < 120 ? `${v.toFixed(0)} s` : `${(v / 60).toFixed(1)} min`);

/** Ours minus Keras in percentage points, flagged beyond ±1.0 (the issue's target for the full profile). */
export function deltaCell(ours?: number, keras?: number): string {
  if (ours === undefined || keras === undefined) return "–";
  const d = 100 * (ours - keras);
  const text = `${d >= 0 ? "+" : "−"}${Math.abs(d).toFixed(2)}`;
  return Math.abs(d) > 1.0 ? `**${text}**` : text;
}

/** The Markdown table (model, write-up figure, ours / Keras for validation and test accuracy, Δ, test loss, time). */
export function comparisonTable(rows: readonly ComparisonRow[]): string {
  const both = (a: string, b: string): string => `${a} / ${b}`;
  return [
    "| model | write-up reported % | validation acc. %, tfjs / Keras | test acc. %, tfjs / Keras | Δ test, points (tfjs − Keras) | test loss, tfjs / Keras | training time, tfjs / Keras |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ...rows.map((r) =>
      `| ${r.run} | ${r.writeUp} | ${both(pct(r.ours?.val_acc), pct(r.keras?.val_acc))} | ${both(pct(r.ours?.test_acc), pct(r.keras?.test_acc))} | ` +
      `${deltaCell(r.ours?.test_acc, r.keras?.test_acc)} | ${both(loss(r.ours?.test_loss), loss(r.keras?.test_loss))} | ${both(secs(r.ours?.train_sec), secs(r.keras?.train_sec))} |`,
    ),
  ].join("\n");
}

/** The lines above the table: profile, where each side's figures come from, the Keras stack. */
export function provenanceLine(profile: ProfileName, oursFrom: Set<string>, keras: readonly ResultsLike[]): string {
  const stacks = [...new Set(keras.map((k) => Object.entries(k.backend?.versions ?? {}).filter(([n]) => n !== "numpy").map(([n, v]) => `${n} ${v}`).join(", ")))];
  const threads = [...new Set(keras.map((k) => k.backend?.threads).filter((t) => t !== undefined))];
  return (
    `Profile: ${profile}. tfjs: ${oursFrom.size > 0 ? [...oursFrom].join("; ") : "no results"}. ` +
    `Keras: ${stacks.length > 0 ? `${stacks.join("; ")}${threads.length ? `, ${threads.join("/")} cores` : ""}` : "no results (npm run reference)"}.`
  );
}

/** The README's markers around a profile's Keras table. */
export function readmeMarkers(profile: ProfileName): { begin: string; end: string } {
  const tag = `KERAS-${profile.toUpperCase()}`;
  return {
    begin: `<!-- ${tag}:BEGIN (generated by \`npm run reference -- --profile ${profile} --table-only --ours baseline --write\`; do not edit) -->`,
    end: `<!-- ${tag}:END -->`,
  };
}

/** Replaces the block between a profile's KERAS markers; throws when they are missing. */
export function replaceReadmeBlock(readme: string, profile: ProfileName, block: string): string {
  const { begin, end: endMarker } = readmeMarkers(profile);
  const start = readme.indexOf(begin);
  const end = readme.indexOf(endMarker);
  if (start < 0 || end < start) throw new Error(`README.md has no "${begin}" … "${endMarker}" block to replace.`);
  return `${readme.slice(0, start + begin.length)}\n${block}\n${readme.slice(end)}`;
}

// ---------------------------------------------------------------------------------------------

/** Runs keras_reference.py; Ctrl-C / SIGTERM / SIGHUP stop it (SIGTERM to the child, SIGKILL after 10 s). */
export async function runKeras(python: string, jobFile: string): Promise<{ code: number; signal?: NodeJS.Signals }> {
  const child: ChildProcess = spawn(python, ["-u", KERAS_SCRIPT, jobFile], { stdio: "inherit", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
  let received: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received) return;
    received = sig;
    console.error(`\n${sig}: stopping Keras (finished runs stay written; the run in progress is not)`);
    if (child.exitCode === null) child.kill("SIGTERM");
    killTimer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (c, s) => resolve(c ?? (s ? 128 + (os.constants.signals[s] ?? 1) : 1)));
    });
    return received ? { code, signal: received } : { code };
  } finally {
    if (killTimer) clearTimeout(killTimer);
    for (const s of signals) process.off(s, onSignal);
  }
}

const JOB_DIR_PREFIX = "fmnist-keras-job-";

/** Job folders left by runs killed outright (SIGKILL: no chance to clean up): this user's, whose process is gone. */
export function removeStaleJobDirs(dir: string = os.tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = new RegExp(`^${JOB_DIR_PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || isProcessAlive(Number(m[1]))) continue;
    const full = path.join(dir, name);
    try {
      if (fs.statSync(full).uid !== os.userInfo().uid) continue;
      fs.rmSync(full, { recursive: true, force: true });
      removed.push(full);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

async function main(argv: string[]): Promise<number> {
  let args: ReferenceArgs;
  try {
    args = parseReferenceArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`reference: ${err.message}\n\n${usage()}`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    console.log(usage());
    return 0;
  }
  const env: NodeJS.ProcessEnv = { ...process.env, FMNIST_PROFILE: args.profile };
  delete env[KERAS_PYTHON_ENV];
  delete env[KERAS_VENV_ENV];
  if (args.artifacts) env.FMNIST_ARTIFACTS_DIR = args.artifacts;
  const cfg = resolveConfig(env);
  const runs = REFERENCE_RUNS.filter((r) => args.runs.includes(r.name));
  const kerasDir = kerasArtifactsDir(cfg.artifactsDir, cfg.profile);

  if (!args.tableOnly) {
    const python = ensureKerasPython({ python: args.python, install: args.install });
    console.log(`Keras ${python.versions.keras}, TensorFlow ${python.versions.tensorflow}, Python ${python.versions.python}: ${python.python}` +
      `${python.installed ? ` (installed in ${python.setupSec.toFixed(0)} s)` : ""}`);
    if (!fs.existsSync(splitPath(cfg))) {
      // The split is what notebook 02 writes: deterministic from the data, the seed and the sizes.
      const file = saveSplit(makeSplit(cfg), cfg);
      console.log(`split written to ${file} (the one notebook 02 writes for this profile and seed)`);
    }
    const split = loadSplit(cfg);
    const testIndices = studyTestIndices(cfg, loadFashionMnist("test", { dataDir: cfg.dataDir }).labels);
    const jobRuns: JobRun[] = [];
    for (const r of runs) {
      const params = await registryParams(r.model, resolveModelOptions(r.model, { seed: cfg.seed, learningRate: cfg.learningRate, ...r.modelOptions }));
      jobRuns.push(jobRun(r, cfg, () => params));
    }
    const job: Job = {
      schema: 1,
      profile: cfg.profile,
      config: cfg,
      dataDir: cfg.dataDir,
      splitFile: splitPath(cfg),
      splitId: split.id,
      testIndices,
      outDir: kerasDir,
      evalBatchSize: 512,
      runOrder: REFERENCE_RUNS.map((r) => r.name),
      runs: jobRuns,
    };
    removeStaleJobDirs();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${JOB_DIR_PREFIX}${process.pid}-`));
    const jobFile = path.join(tmp, "job.json");
    const started = Date.now();
    try {
      fs.writeFileSync(jobFile, JSON.stringify(job), { mode: 0o600 });
      const { code, signal } = await runKeras(python.python, jobFile);
      if (signal) return signal === "SIGINT" ? 130 : signal === "SIGTERM" ? 143 : 129;
      if (code !== 0) {
        console.error(`reference: keras_reference.py exited with ${code}`);
        return code;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    console.log(`Keras: ${runs.length} run(s) in ${((Date.now() - started) / 1000).toFixed(0)} s (TensorFlow's start included)`);
  }

  const { rows, oursFrom, keras } = comparisonRows({
    runs, profile: cfg.profile, oursDir: cfg.artifactsDir, baselineFile: path.join(REPO_ROOT, "notebooks", "baselines", `${cfg.profile}.json`), kerasDir, source: args.ours,
  });
  const trained = rows.filter((r) => r.keras !== undefined);
  const missing = rows.filter((r) => r.keras === undefined).map((r) => r.run);
  const notYet = missing.length > 0 ? `\n\nNot trained in Keras for this profile yet: ${missing.join(", ")}.` : "";
  const block = `${provenanceLine(cfg.profile, oursFrom, keras)}\n\n${comparisonTable(trained)}${notYet}`;
  console.log(`\n${block}`);
  if (args.write) {
    const readme = path.join(REPO_ROOT, "README.md");
    writeFileAtomic(readme, replaceReadmeBlock(fs.readFileSync(readme, "utf8"), cfg.profile, block));
    console.log(`README.md: the ${cfg.profile} profile's Keras table updated`);
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`reference: ${(err as Error).message}`);
      process.exitCode = 1;
    },
  );
}
