// Regression checks: compares a notebook's results file with the committed baseline for the profile,
// metric by metric with per-kind tolerances, and rewrites the baseline on request.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ResultsFile } from "../../lib/src/results";
import { writeJsonAtomic } from "./atomic";

/** Profiles the runner knows (mirrors lib's ProfileName; the runner does not import lib so it works before a build). */
export type Profile = "quick" | "full";

/**
 * How a metric is compared: `abs` |actual − baseline| ≤ tol; `rel` |actual − baseline| ≤ tol·|baseline|;
 * `exact` equality; `time` reported against baseline × factor, failing only in strict-time mode.
 */
export type ToleranceKind = "abs" | "rel" | "exact" | "time";

/** One baseline metric. */
export interface BaselineMetric {
  value: number;
  kind: ToleranceKind;
  /** abs/rel tolerance, or the allowed slow-down factor for `time`; unused for `exact`. */
  tol?: number;
}

/** One notebook's baseline. */
export interface BaselineNotebook {
  metrics: Record<string, BaselineMetric>;
  /** Wall time of the whole notebook when the baseline was recorded. */
  durationSec?: number;
}

/** The committed file notebooks/baselines/<profile>.json. */
export interface BaselineFile {
  schema: 1;
  profile: Profile;
  updatedAt: string;
  /** Where the numbers came from (backend, node version, machine), for readers. */
  recordedWith?: Record<string, unknown>;
  notebooks: Record<string, BaselineNotebook>;
}

/** Outcome of one checked metric. */
export type Verdict = "ok" | "FAIL" | "missing" | "new" | "slow";

/** One row of the diff table. */
export interface MetricCheck {
  notebook: string;
  metric: string;
  baseline: number | null;
  actual: number | null;
  delta: number | null;
  kind: ToleranceKind | null;
  tol: number | null;
  verdict: Verdict;
}

/** The check of one notebook. */
export interface NotebookCheck {
  notebook: string;
  /** "no-baseline" when the baseline has no entry for the notebook. */
  status: "pass" | "regression" | "no-baseline" | "no-results";
  rows: MetricCheck[];
  /** Message for no-results (why the results file was rejected). */
  note?: string;
}

/** Default slow-down factor before a timing is reported as slow. */
export const DEFAULT_TIME_FACTOR = 3;

/**
 * Tolerance for a metric by naming convention (see the README's "Regression checks"):
 * accuracies (`*_acc`, `*accuracy`, f1/precision/recall) absolute ±0.02 quick / ±0.01 full;
 * losses (`*loss`) relative 15 % in both profiles (an overfitted model's validation and test loss moved 5–15 %
 * when only the kernels' summation order changed, its accuracy under 1 point; another backend does the same); counts (`rows.*`, `count.*`, `*_count`, `*params`, `*epochs`) exact;
 * timings (`time.*`, `*_sec`) by factor; any other integer value exact; anything else relative 10 % quick / 5 % full.
 */
export function defaultTolerance(metric: string, profile: Profile, value?: number): { kind: ToleranceKind; tol?: number } {
  const quick = profile === "quick";
  const leaf = metric.split(".").pop() ?? metric;
  if (metric.startsWith("time.") || /(_sec|_ms|_seconds)$/.test(leaf) || leaf === "sec") return { kind: "time", tol: DEFAULT_TIME_FACTOR };
  if (metric.startsWith("rows.") || metric.startsWith("count.") || /(_count|params|^count|^n_|^epochs?$|_epochs?$)/.test(leaf)) {
    return { kind: "exact" };
  }
  if (/(acc|accuracy|f1|precision|recall)$/.test(leaf)) return { kind: "abs", tol: quick ? 0.02 : 0.01 };
  if (/loss$/.test(leaf)) return { kind: "rel", tol: 0.15 };
  // An integer under any other name is a count (trials, models compared): compared exactly.
  if (value !== undefined && Number.isInteger(value)) return { kind: "exact" };
  return { kind: "rel", tol: quick ? 0.1 : 0.05 };
}

/** Compares one value; returns the verdict and the signed delta. */
export function checkMetric(b: BaselineMetric, actual: number, strictTime = false): { verdict: Verdict; delta: number } {
  const delta = actual - b.value;
  const tol = b.tol ?? 0;
  switch (b.kind) {
    case "exact":
      return { verdict: actual === b.value ? "ok" : "FAIL", delta };
    case "abs":
      return { verdict: Math.abs(delta) <= tol + 1e-12 ? "ok" : "FAIL", delta };
    case "rel":
      return { verdict: Math.abs(delta) <= tol * Math.abs(b.value) + 1e-12 ? "ok" : "FAIL", delta };
    case "time": {
      const slow = actual > b.value * (b.tol ?? DEFAULT_TIME_FACTOR);
      return { verdict: slow ? (strictTime ? "FAIL" : "slow") : "ok", delta };
    }
  }
}

/**
 * Checks one notebook's results against its baseline entry. Every baseline metric must be present and within
 * tolerance; metrics only in the results are listed as "new" (not a failure: update the baseline to adopt them).
 */
export function compareNotebook(
  notebook: string,
  results: ResultsFile | undefined,
  base: BaselineNotebook | undefined,
  opts: { strictTime?: boolean; timeFactor?: number; durationSec?: number } = {},
): NotebookCheck {
  if (!base) return { notebook, status: "no-baseline", rows: [] };
  const rows: MetricCheck[] = [];
  const actualMetrics = results?.metrics ?? {};
  for (const [metric, b] of Object.entries(base.metrics).sort(([a], [c]) => a.localeCompare(c))) {
    const actual = actualMetrics[metric];
    if (typeof actual !== "number" || Number.isNaN(actual)) {
      rows.push({ notebook, metric, baseline: b.value, actual: null, delta: null, kind: b.kind, tol: b.tol ?? null, verdict: "missing" });
      continue;
    }
    const bm = b.kind === "time" && opts.timeFactor ? { ...b, tol: opts.timeFactor } : b;
    const { verdict, delta } = checkMetric(bm, actual, opts.strictTime);
    rows.push({ notebook, metric, baseline: b.value, actual, delta, kind: b.kind, tol: bm.tol ?? null, verdict });
  }
  for (const metric of Object.keys(actualMetrics).sort()) {
    if (!(metric in base.metrics)) {
      rows.push({ notebook, metric, baseline: null, actual: actualMetrics[metric], delta: null, kind: null, tol: null, verdict: "new" });
    }
  }
  const duration = opts.durationSec ?? results?.durationSec;
  if (base.durationSec !== undefined && duration !== undefined) {
    const factor = opts.timeFactor ?? DEFAULT_TIME_FACTOR;
    const b: BaselineMetric = { value: base.durationSec, kind: "time", tol: factor };
    const { verdict, delta } = checkMetric(b, duration, opts.strictTime);
    rows.push({ notebook, metric: "(notebook duration, s)", baseline: base.durationSec, actual: duration, delta, kind: "time", tol: factor, verdict });
  }
  const failed = rows.some((r) => r.verdict === "FAIL" || r.verdict === "missing");
  return { notebook, status: failed ? "regression" : "pass", rows };
}

/**
 * Builds a notebook's baseline entry from its results. Tolerances already in `previous` (deliberate edits)
 * are kept for metrics that still exist; new metrics get {@link defaultTolerance}.
 */
export function baselineEntryFromResults(
  results: ResultsFile,
  profile: Profile,
  previous?: BaselineNotebook,
  durationSec?: number,
): BaselineNotebook {
  const metrics: Record<string, BaselineMetric> = {};
  for (const key of Object.keys(results.metrics).sort()) {
    const value = results.metrics[key];
    if (typeof value !== "number" || !Number.isFinite(value)) continue;
    const prev = previous?.metrics[key];
    const { kind, tol } = prev ? { kind: prev.kind, tol: prev.tol } : defaultTolerance(key, profile, value);
    metrics[key] = tol === undefined ? { value, kind } : { value, kind, tol };
  }
  const d = durationSec ?? results.durationSec;
  return d === undefined ? { metrics } : { metrics, durationSec: Math.round(d * 10) / 10 };
}

/** An empty baseline for a profile. */
export function emptyBaseline(profile: Profile): BaselineFile {
  return { schema: 1, profile, updatedAt: new Date(0).toISOString(), notebooks: {} };
}

/** Reads a baseline file; a missing file is an empty baseline. Throws on a malformed file, naming it. */
export function readBaseline(file: string, profile: Profile): BaselineFile {
  if (!fs.existsSync(file)) return emptyBaseline(profile);
  let b: BaselineFile;
  try {
    b = JSON.parse(fs.readFileSync(file, "utf8")) as BaselineFile;
  } catch (err) {
    throw new Error(`baseline ${file} is not valid JSON (${(err as Error).message}); fix it or regenerate it with --update-baseline.`);
  }
  if (b.schema !== 1 || typeof b.notebooks !== "object" || b.notebooks === null) {
    throw new Error(`baseline ${file} does not have schema 1 with a "notebooks" object; regenerate it with --update-baseline.`);
  }
  if (b.profile !== profile) throw new Error(`baseline ${file} is for profile "${b.profile}", not "${profile}".`);
  for (const [nb, entry] of Object.entries(b.notebooks)) {
    for (const [m, v] of Object.entries(entry.metrics ?? {})) {
      if (typeof v?.value !== "number" || !["abs", "rel", "exact", "time"].includes(v.kind)) {
        throw new Error(`baseline ${file}: ${nb} / ${m} needs a numeric "value" and a "kind" of abs|rel|exact|time.`);
      }
    }
  }
  return b;
}

/** Writes a baseline atomically, notebooks sorted by name so diffs stay readable. */
export function writeBaseline(file: string, b: BaselineFile): void {
  const notebooks: Record<string, BaselineNotebook> = {};
  for (const k of Object.keys(b.notebooks).sort()) notebooks[k] = b.notebooks[k];
  writeJsonAtomic(file, { ...b, notebooks });
}

/**
 * Reads `<artifactsDir>/results/<notebook>.json`. Returns `{ note }` instead when the file is absent, not JSON,
 * for another profile, or older than `notBefore` (left over from an earlier run).
 */
export function readResults(
  artifactsDir: string,
  notebook: string,
  opts: { profile?: Profile; notBefore?: Date } = {},
): { results: ResultsFile } | { note: string } {
  const file = path.join(artifactsDir, "results", `${notebook}.json`);
  if (!fs.existsSync(file)) return { note: `no results file ${file}` };
  let r: ResultsFile;
  try {
    r = JSON.parse(fs.readFileSync(file, "utf8")) as ResultsFile;
  } catch (err) {
    return { note: `results file ${file} is not valid JSON (${(err as Error).message})` };
  }
  if (typeof r.metrics !== "object" || r.metrics === null) return { note: `results file ${file} has no "metrics" object` };
  if (opts.profile && r.profile !== opts.profile) return { note: `results file ${file} is for profile "${r.profile}", not "${opts.profile}"` };
  if (opts.notBefore && !(new Date(r.createdAt).getTime() >= opts.notBefore.getTime() - 1000)) {
    return { note: `results file ${file} was written at ${r.createdAt}, before this run started: the notebook did not write its results` };
  }
  return { results: r };
}

/** Formats a number for the diff table (up to 4 significant decimals, integers as they are). */
export function fmtNum(x: number | null): string {
  if (x === null) return "—";
  if (Number.isInteger(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? x.toExponential(3) : String(Number(x.toFixed(4)));
}

function fmtTol(r: MetricCheck): string {
  if (r.kind === null) return "—";
  if (r.kind === "exact") return "exact";
  if (r.kind === "abs") return `±${fmtNum(r.tol)}`;
  if (r.kind === "rel") return `±${fmtNum((r.tol ?? 0) * 100)}%`;
  return `≤×${fmtNum(r.tol)}`;
}

/** The readable diff table of every checked metric (baseline, actual, delta, tolerance, verdict). */
export function formatDiffTable(checks: NotebookCheck[]): string {
  const header = ["notebook", "metric", "baseline", "actual", "delta", "tolerance", "verdict"];
  const rows: string[][] = [];
  for (const c of checks) {
    if (c.status === "no-baseline") rows.push([c.notebook, "(all)", "—", "—", "—", "—", "no baseline"]);
    if (c.status === "no-results") rows.push([c.notebook, "(all)", "—", "—", "—", "—", `no results: ${c.note ?? ""}`]);
    for (const r of c.rows) {
      const delta = r.delta === null ? "—" : (r.delta > 0 ? "+" : "") + fmtNum(r.delta);
      rows.push([r.notebook, r.metric, fmtNum(r.baseline), fmtNum(r.actual), delta, fmtTol(r), r.verdict]);
    }
  }
  return formatTable(header, rows);
}

/** Left-aligned plain-text table with a header rule. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
