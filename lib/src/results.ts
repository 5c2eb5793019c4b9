/**
 * Results files: one JSON per notebook at <artifactsDir>/results/<notebook>.json, written atomically
 * and validated on read, so the evaluation notebook and the README table can trust them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { BackendInfo } from "./backend/index";
import type { Config, ProfileName } from "./config";
import { writeFileAtomic } from "./io";
import { cleanError } from "./errors";
import { WRITEUP_FIGURES, type WriteupId } from "./writeups";

/** Per-model entry of a results file. */
export interface ModelResult {
  name: string;
  params: number;
  trainSec: number;
  /** Flat metric names without the model prefix, e.g. "test_acc". */
  metrics: Record<string, number>;
  /** Training was interrupted: such an entry is not a result, and `writeResults` refuses it. */
  interrupted?: boolean;
}

/** What one notebook run produced. Metric names are flat keys like "cnn_maxpool.test_acc" or "rows.train". */
export interface NotebookResults {
  schema: 1;
  /** Notebook file name without extension, e.g. "05-cnn-maxpool". */
  notebook: string;
  profile: ProfileName;
  /** ISO 8601 time of writing. */
  createdAt: string;
  durationSec?: number;
  backend: BackendInfo;
  config: Config;
  metrics: Record<string, number>;
  models?: ModelResult[];
}

/**
 * A results file as the readers outside a notebook use it (the runner's regression check, the merge of
 * sharded runs, the report): the {@link NotebookResults} schema with what they do not need optional, so
 * they also read older files and small hand-written fixtures. The one declaration of that shape.
 */
export type ResultsFile = Pick<NotebookResults, "notebook" | "profile" | "createdAt" | "durationSec" | "metrics" | "models"> & Partial<Pick<NotebookResults, "schema" | "config">> & { backend?: Partial<BackendInfo> };

const NOTEBOOK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function resultsDir(artifactsDir: string): string {
  return path.join(artifactsDir, "results");
}

function checkNotebookName(notebook: string): void {
  if (typeof notebook !== "string" || !NOTEBOOK_NAME.test(notebook) || notebook.endsWith(".json")) {
    throw new Error(`Invalid notebook name "${String(notebook)}": use the notebook file name without extension, e.g. "05-cnn-maxpool"`);
  }
}

/** Path of a notebook's results file. */
export function resultsPath(notebook: string, artifactsDir: string): string {
  checkNotebookName(notebook);
  return path.join(resultsDir(artifactsDir), `${notebook}.json`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Checks that `value` is a {@link NotebookResults}; throws one Error listing every problem, prefixed by
 * `where` (a file path or "writeResults"). Non-finite metrics are rejected: JSON cannot store NaN.
 */
export function validateResults(value: unknown, where = "results"): NotebookResults {
  const problems: string[] = [];
  const metricsOk = (m: unknown, at: string): void => {
    if (!isRecord(m)) {
      problems.push(`${at} must be an object of numbers`);
      return;
    }
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== "number" || !Number.isFinite(v)) problems.push(`${at}["${k}"] must be a finite number, got ${JSON.stringify(v) ?? String(v)}`);
    }
  };
  if (!isRecord(value)) {
    throw new Error(`${where}: expected a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`);
  }
  if (value.schema !== 1) problems.push(`schema must be 1, got ${JSON.stringify(value.schema)} (written by a different version? re-run the notebook)`);
  if (typeof value.notebook !== "string" || !NOTEBOOK_NAME.test(value.notebook)) problems.push(`notebook must be a notebook name, got ${JSON.stringify(value.notebook)}`);
  if (value.profile !== "quick" && value.profile !== "full") problems.push(`profile must be "quick" or "full", got ${JSON.stringify(value.profile)}`);
  if (typeof value.createdAt !== "string" || Number.isNaN(Date.parse(value.createdAt))) problems.push(`createdAt must be an ISO date string, got ${JSON.stringify(value.createdAt)}`);
  if (value.durationSec !== undefined && (typeof value.durationSec !== "number" || !(value.durationSec >= 0))) problems.push(`durationSec must be a non-negative number, got ${JSON.stringify(value.durationSec)}`);
  if (!isRecord(value.backend) || typeof value.backend.name !== "string") problems.push("backend must be the BackendInfo object from initBackend()");
  if (!isRecord(value.config) || typeof value.config.profile !== "string" || typeof value.config.seed !== "number") problems.push("config must be the Config object from resolveConfig()");
  metricsOk(value.metrics, "metrics");
  if (value.models !== undefined) {
    if (!Array.isArray(value.models)) problems.push("models must be an array");
    else
      value.models.forEach((m: unknown, i: number) => {
        if (!isRecord(m)) {
          problems.push(`models[${i}] must be an object`);
          return;
        }
        if (typeof m.name !== "string" || m.name === "") problems.push(`models[${i}].name must be a non-empty string`);
        if (typeof m.params !== "number" || !Number.isInteger(m.params) || m.params < 0) problems.push(`models[${i}].params must be a whole number`);
        if (typeof m.trainSec !== "number" || !(m.trainSec >= 0)) problems.push(`models[${i}].trainSec must be a non-negative number`);
        metricsOk(m.metrics, `models[${i}].metrics`);
      });
  }
  if (problems.length > 0) throw new Error(`${where}: invalid results file:\n  - ${problems.join("\n  - ")}`);
  return value as unknown as NotebookResults;
}

/**
 * Validates and writes a notebook's results to `<artifactsDir>/results/<notebook>.json` atomically;
 * returns the file path. `createdAt` is filled in when empty.
 */
export function writeResults(r: NotebookResults, artifactsDir: string): string {
  const withTime = { ...r, createdAt: r.createdAt || new Date().toISOString() };
  const partial = (r.models ?? []).filter((m) => m.interrupted).map((m) => m.name);
  if (partial.length > 0) {
    throw cleanError(`Results not written: the training of ${partial.join(", ")} was interrupted. Re-run its training cell (and the cells after it), then this one.`);
  }
  validateResults(withTime, "writeResults");
  const file = resultsPath(r.notebook, artifactsDir);
  writeFileAtomic(file, JSON.stringify(withTime, null, 2) + "\n");
  return file;
}

/** Reads and validates one notebook's results; the error says which notebook to run when the file is missing. */
export function readResults(notebook: string, artifactsDir: string): NotebookResults {
  const file = resultsPath(notebook, artifactsDir);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`No results for notebook "${notebook}" (${file} does not exist): run notebooks/${notebook}.ipynb first`);
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message}); re-run notebooks/${notebook}.ipynb`);
  }
  const r = validateResults(parsed, file);
  if (r.notebook !== notebook) throw new Error(`${file}: holds results of "${r.notebook}", expected "${notebook}"`);
  return r;
}

/** Every valid results file under `<artifactsDir>/results`, sorted by notebook name (invalid files throw). */
export function listResults(artifactsDir: string): NotebookResults[] {
  const dir = resultsDir(artifactsDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json") && !f.startsWith("."))
    .sort()
    .map((f) => readResults(f.slice(0, -".json".length), artifactsDir));
}

/** Per-epoch history fields {@link modelResult} reads (structurally a `TrainHistory`). */
export interface HistoryLike {
  loss: number[];
  acc: number[];
  val_loss: number[];
  val_acc: number[];
  epochsRun: number;
  bestEpoch: number;
  restoredBest: boolean;
  trainSec: number;
}

/**
 * The results entry of one trained model and its flat metrics ("<name>.val_acc", "<name>.test_acc",
 * "<name>.test_loss", "<name>.train_acc", "<name>.train_loss", "<name>.val_loss", "<name>.epochs",
 * "<name>.train_sec"). Train/validation figures are those of the weights the model ends with: the
 * best epoch when early stopping restored it, else the last epoch.
 */
export function modelResult(name: string, params: number, history: HistoryLike, test?: { loss: number; acc: number }): { entry: ModelResult; metrics: Record<string, number> } {
  const at = (history.restoredBest ? history.bestEpoch : history.epochsRun) - 1;
  const m: Record<string, number> = { epochs: history.epochsRun, train_sec: history.trainSec };
  const put = (key: string, arr: number[]): void => {
    const v = arr[at];
    if (v !== undefined && Number.isFinite(v)) m[key] = v;
  };
  put("train_loss", history.loss);
  put("train_acc", history.acc);
  put("val_loss", history.val_loss);
  put("val_acc", history.val_acc);
  if (test) {
    m.test_loss = test.loss;
    m.test_acc = test.acc;
  }
  const metrics = Object.fromEntries(Object.entries(m).map(([k, v]) => [`${name}.${k}`, v]));
  return { entry: { name, params, trainSec: history.trainSec, metrics: m }, metrics };
}

/** A figure a write-up reported for one of its models, with where it comes from. */
export interface ReportedResult {
  /** Write-up id ("000" … "004", described in docs/writeups.md). */
  source: WriteupId;
  /** What the write-up's model was and how it measured (e.g. whether "validation" was the test set). */
  note: string;
  /** Flat metric names as in our results (train_loss, train_acc, val_loss, val_acc, test_loss, test_acc, epochs). */
  metrics: Record<string, number>;
}

/**
 * The write-ups' reported figures, keyed by our result name (registry name, or a variant such as
 * "cnn_maxpool_rmsprop"), built from the write-up table in writeups.ts: entries for the same model
 * are merged (metrics in order, notes joined by "; "). Models whose write-up gives no absolute
 * numbers (002's augmentation "+2.5%", 004's regularised network) carry only what is stated.
 */
export const WRITEUP_REPORTED: Readonly<Record<string, ReportedResult>> = (() => {
  const out: Record<string, ReportedResult> = {};
  for (const f of WRITEUP_FIGURES) {
    const prev = out[f.ourModel];
    if (prev && prev.source !== f.writeUp) throw new Error(`writeups.ts: "${f.ourModel}" has figures from write-ups ${prev.source} and ${f.writeUp}`);
    out[f.ourModel] = prev
      ? { source: prev.source, note: `${prev.note}; ${f.note}`, metrics: { ...prev.metrics, ...(f.metrics as Record<string, number>) } }
      : { source: f.writeUp, note: f.note, metrics: { ...(f.metrics as Record<string, number>) } };
  }
  return out;
})();

/** One row of {@link reportedVsOurs}. */
export interface ComparisonRow {
  model: string;
  source: string;
  metric: string;
  reported: number;
  ours: number | null;
  /** ours − reported (null when we have no such figure). */
  diff: number | null;
}

/**
 * Rows "write-up reported vs ours" for one result name: every metric the write-up reported, next to ours.
 * `ours` takes unprefixed names (`entry.metrics`) or the flat "<name>.<metric>" keys.
 */
export function reportedVsOurs(name: string, ours: Record<string, number>): ComparisonRow[] {
  const rep = WRITEUP_REPORTED[name];
  if (!rep) throw new Error(`No write-up figures for "${name}". Known: ${Object.keys(WRITEUP_REPORTED).join(", ")}`);
  return Object.entries(rep.metrics).map(([metric, reported]) => {
    const v = ours[metric] ?? ours[`${name}.${metric}`];
    const mine = v === undefined ? null : v;
    return { model: name, source: rep.source, metric, reported, ours: mine, diff: mine === null ? null : mine - reported };
  });
}
