/**
 * Classification metrics over integer labels: confusion matrix, scikit-learn-style
 * classification report (numbers and text), per-class accuracy and the most frequent
 * confusions. Pure TypeScript, checked against scikit-learn in the tests.
 */
import * as tf from "@tensorflow/tfjs";
import { CLASS_NAMES } from "./data/classes";
import { readAndDispose } from "./async-reads";

/** Labels as any integer array. */
export type Labels = ArrayLike<number>;

/** Predicted class ids from a [N, K] probability (or logit) tensor; read asynchronously (works on webgpu too). */
export async function argmaxLabels(probs: tf.Tensor): Promise<Int32Array> {
  return Int32Array.from(await readAndDispose(tf.tidy(() => tf.argMax(probs, -1))));
}

function checkPair(yTrue: Labels, yPred: Labels, numClasses: number): void {
  if (yTrue.length !== yPred.length) throw new Error(`yTrue has ${yTrue.length} labels but yPred has ${yPred.length}.`);
  for (const [name, ys] of [["yTrue", yTrue], ["yPred", yPred]] as const) {
    for (let i = 0; i < ys.length; i++) {
      if (!Number.isInteger(ys[i]) || ys[i] < 0 || ys[i] >= numClasses) {
        throw new Error(`${name}[${i}] = ${ys[i]} is not a class id from 0 to ${numClasses - 1}.`);
      }
    }
  }
}

/** Fraction of matching labels. */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  if (yTrue.length !== yPred.length) throw new Error(`yTrue has ${yTrue.length} labels but yPred has ${yPred.length}.`);
  if (yTrue.length === 0) throw new Error("accuracy of zero labels is undefined.");
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return hit / yTrue.length;
}

/** Confusion matrix, rows = true class, columns = predicted class (scikit-learn's layout). */
export function confusionMatrix(yTrue: Labels, yPred: Labels, numClasses = 10): number[][] {
  checkPair(yTrue, yPred, numClasses);
  const cm = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) cm[yTrue[i]][yPred[i]]++;
  return cm;
}

/** Each row divided by its sum (recall per cell); all-zero rows stay zero. */
export function normalizeRows(cm: readonly (readonly number[])[]): number[][] {
  return cm.map((row) => {
    const s = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (s === 0 ? 0 : v / s));
  });
}

/** Per-class accuracy (recall): diagonal over row sum; NaN-free (0 for an empty class). */
export function perClassAccuracy(cm: readonly (readonly number[])[]): number[] {
  return normalizeRows(cm).map((row, i) => row[i]);
}

/** One off-diagonal cell: how often `trueClass` was predicted as `predClass`. */
export interface Confusion {
  trueClass: number;
  predClass: number;
  trueName: string;
  predName: string;
  count: number;
  /** count / images of the true class */
  rate: number;
}

/** The `k` most frequent confusions, largest first (ties by class ids). */
export function topConfusions(cm: number[][], k = 5, classNames: readonly string[] = CLASS_NAMES): Confusion[] {
  const out: Confusion[] = [];
  cm.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      if (t !== p && count > 0) {
        out.push({ trueClass: t, predClass: p, trueName: classNames[t] ?? String(t), predName: classNames[p] ?? String(p), count, rate: count / total });
      }
    });
  });
  return out.sort((a, b) => b.count - a.count || a.trueClass - b.trueClass || a.predClass - b.predClass).slice(0, k);
}

/** Precision, recall, F1 and support of one class or average. */
export interface ReportRow {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** scikit-learn's classification_report as data. */
export interface ClassificationReport {
  classes: ReportRow[];
  accuracy: number;
  macroAvg: ReportRow;
  weightedAvg: ReportRow;
}

/**
 * Computes the classification report. `zeroDivision` is the value used where a ratio is
 * 0/0 (a class never predicted has no precision; a class absent from yTrue has no recall),
 * 0 like scikit-learn's default ("warn").
 */
export function classificationReport(
  yTrue: Labels,
  yPred: Labels,
  opts: { classNames?: readonly string[]; numClasses?: number; zeroDivision?: 0 | 1 } = {},
): ClassificationReport {
  const numClasses = opts.numClasses ?? opts.classNames?.length ?? 10;
  const names = opts.classNames ?? (numClasses === CLASS_NAMES.length ? CLASS_NAMES : Array.from({ length: numClasses }, (_, i) => String(i)));
  const zd = opts.zeroDivision ?? 0;
  const cm = confusionMatrix(yTrue, yPred, numClasses);
  const div = (a: number, b: number): number => (b === 0 ? zd : a / b);
  const classes = cm.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = cm.reduce((s, r) => s + r[c], 0);
    const precision = div(tp, predicted);
    const recall = div(tp, support);
    // scikit-learn: F1 is 0/0 only when precision + recall is 0.
    const f1 = precision + recall === 0 ? zd : (2 * precision * recall) / (precision + recall);
    return { label: names[c], precision, recall, f1, support };
  });
  const total = yTrue.length;
  const avg = (label: string, w: (r: ReportRow) => number): ReportRow => {
    const ws = classes.reduce((s, r) => s + w(r), 0);
    const mean = (k: "precision" | "recall" | "f1"): number => (ws === 0 ? zd : classes.reduce((s, r) => s + w(r) * r[k], 0) / ws);
    return { label, precision: mean("precision"), recall: mean("recall"), f1: mean("f1"), support: total };
  };
  return {
    classes,
    accuracy: accuracy(yTrue, yPred),
    macroAvg: avg("macro avg", () => 1),
    weightedAvg: avg("weighted avg", (r) => r.support),
  };
}

/**
 * Python's "%.{digits}f": rounds the exact binary value, ties to even. (toFixed also rounds
 * the exact value but breaks ties upwards, and v * 10^d can itself round onto a tie.)
 */
function fmt(v: number, digits: number): string {
  if (!Number.isFinite(v) || v < 0) return v.toFixed(digits);
  const exact = v.toFixed(100); // the double's exact decimal expansion (it has at most ~60 fraction digits here)
  const dot = exact.indexOf(".");
  const kept = BigInt(exact.slice(0, dot) + exact.slice(dot + 1, dot + 1 + digits));
  const rest = exact.slice(dot + 1 + digits);
  const half = rest[0] === "5" && /^50*$/.test(rest);
  const up = rest[0] > "5" || (rest[0] === "5" && !half) || (half && kept % 2n === 1n);
  const n = (up ? kept + 1n : kept).toString().padStart(digits + 1, "0");
  return digits === 0 ? n : `${n.slice(0, -digits)}.${n.slice(-digits)}`;
}

/** Formats a report exactly like scikit-learn's `classification_report(..., digits)` text. */
export function formatClassificationReport(report: ClassificationReport, digits = 2): string {
  const labels = [...report.classes.map((r) => r.label), "weighted avg"];
  const width = Math.max(...labels.map((l) => l.length), digits);
  const cols = (values: string[]): string => values.map((v) => ` ${v.padStart(9)}`).join("");
  const row = (r: ReportRow): string =>
    `${r.label.padStart(width)} ${cols([fmt(r.precision, digits), fmt(r.recall, digits), fmt(r.f1, digits), String(r.support)])}\n`;
  let out = `${"".padStart(width)} ${cols(["precision", "recall", "f1-score", "support"])}\n\n`;
  for (const r of report.classes) out += row(r);
  out += "\n";
  out += `${"accuracy".padStart(width)} ${cols(["", "", fmt(report.accuracy, digits), String(report.weightedAvg.support)])}\n`;
  out += row(report.macroAvg);
  out += row(report.weightedAvg);
  return out;
}
