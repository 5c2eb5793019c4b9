/**
 * Classification figures: confusion matrix heatmaps (counts and row-normalised side by side, class
 * names on the axes, the value in each cell), per-class precision/recall/F1 bars, and a generic
 * labelled matrix heatmap (e.g. distances between class-mean images).
 */
import { CLASS_NAMES } from "../data/classes";
import type { Annotation, BarTrace, Figure, HeatmapTrace } from "./types";
import { normalizeRows } from "../metrics";

function checkSquare(m: readonly (readonly number[])[], labels: readonly string[], what: string): void {
  if (m.length !== labels.length || m.some((r) => r.length !== labels.length)) {
    throw new Error(`${what}: expected a ${labels.length}×${labels.length} matrix (one row and column per label)`);
  }
}

/**
 * Confusion matrix: rows = true class, columns = predicted class (sklearn's orientation). Two
 * panels, counts (left) and row-normalised (right), unless `only` picks one; the first row is at the top.
 */
export function confusionHeatmap(
  counts: readonly (readonly number[])[],
  opts: { classNames?: readonly string[]; title?: string; only?: "counts" | "normalized" } = {},
): Figure {
  const names = [...(opts.classNames ?? CLASS_NAMES)];
  checkSquare(counts, names, "confusionHeatmap");
  const norm = normalizeRows(counts);
  const panels: { z: number[][]; text: string[][]; label: string }[] = [];
  if (opts.only !== "normalized") panels.push({ z: counts.map((r) => [...r]), text: counts.map((r) => r.map((v) => String(v))), label: "counts" });
  if (opts.only !== "counts") panels.push({ z: norm.map((r) => r.map((v) => Math.round(v * 1e4) / 1e4)), text: norm.map((r) => r.map((v) => (v === 0 ? "" : v.toFixed(2)))), label: "row-normalised (recall on the diagonal)" });
  const two = panels.length === 2;
  const data: HeatmapTrace[] = panels.map((p, k) => ({
    type: "heatmap",
    z: p.z,
    x: names,
    y: names,
    text: p.text,
    texttemplate: "%{text}",
    colorscale: "Blues",
    // Plotly's Blues runs dark → light; reversed, large counts are dark.
    reversescale: true,
    showscale: false,
    xaxis: k === 0 ? "x" : "x2",
    yaxis: k === 0 ? "y" : "y2",
    name: p.label,
    hovertemplate: "true %{y}<br>predicted %{x}<br>%{z}<extra>" + p.label + "</extra>",
  }));
  const annotations: Annotation[] = panels.map((p, k) => ({
    text: p.label,
    x: two ? (k === 0 ? 0.225 : 0.775) : 0.5,
    y: 1,
    xref: "paper",
    yref: "paper",
    xanchor: "center",
    yanchor: "bottom",
    showarrow: false,
  }));
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Confusion matrix" },
      xaxis: { title: { text: "predicted" }, domain: two ? [0, 0.45] : [0, 1], anchor: "y", tickangle: -45, type: "category" },
      yaxis: { title: { text: "true" }, autorange: "reversed", anchor: "x", type: "category" },
      ...(two
        ? {
            xaxis2: { title: { text: "predicted" }, domain: [0.55, 1], anchor: "y2", tickangle: -45, type: "category" },
            yaxis2: { autorange: "reversed", anchor: "x2", showticklabels: false, type: "category" },
          }
        : {}),
      annotations,
      width: two ? 1100 : 600,
      height: 560,
      margin: { l: 110, b: 120, t: 70 },
    },
  };
}

/** One row of per-class metrics (as in a classification report). */
export interface ClassMetricsRow {
  /** Class name (or index). */
  label: string;
  precision: number;
  recall: number;
  f1: number;
}

/** Precision, recall and F1 per class as grouped bars (one trace per metric). */
export function perClassMetricBars(rows: readonly ClassMetricsRow[], opts: { title?: string } = {}): Figure {
  if (rows.length === 0) throw new Error("perClassMetricBars: no rows given");
  const labels = rows.map((r) => r.label);
  const metric = (key: "precision" | "recall" | "f1", name: string): BarTrace => ({
    type: "bar",
    name,
    x: labels,
    y: rows.map((r) => r[key]),
    hovertemplate: "%{x}: %{y:.3f}<extra>" + name + "</extra>",
  });
  return {
    data: [metric("precision", "precision"), metric("recall", "recall"), metric("f1", "F1")],
    layout: {
      title: { text: opts.title ?? "Per-class precision, recall and F1" },
      barmode: "group",
      xaxis: { title: { text: "class" }, tickangle: -30 },
      yaxis: { title: { text: "score" }, range: [0, 1] },
      legend: { orientation: "h", x: 0.5, xanchor: "center", y: 1.02, yanchor: "bottom" },
      height: 420,
      margin: { t: 80 },
    },
  };
}

/** A square matrix with labels on both axes and its values written in the cells (e.g. class-mean distances). */
export function matrixHeatmap(
  m: readonly (readonly number[])[],
  opts: { labels?: readonly string[]; title?: string; valueTitle?: string; digits?: number; colorscale?: string; reversescale?: boolean } = {},
): Figure {
  const labels = [...(opts.labels ?? CLASS_NAMES)];
  checkSquare(m, labels, "matrixHeatmap");
  const digits = opts.digits ?? 0;
  const trace: HeatmapTrace = {
    type: "heatmap",
    z: m.map((r) => r.map((v) => Math.round(v * 10 ** digits) / 10 ** digits)),
    x: labels,
    y: labels,
    text: m.map((r) => r.map((v) => v.toFixed(digits))),
    texttemplate: "%{text}",
    colorscale: opts.colorscale ?? "Viridis",
    reversescale: opts.reversescale,
    colorbar: opts.valueTitle ? { title: { text: opts.valueTitle } } : undefined,
    hovertemplate: "%{y} ↔ %{x}: %{z}<extra></extra>",
  };
  return {
    data: [trace],
    layout: {
      title: { text: opts.title ?? "" },
      xaxis: { tickangle: -45, type: "category" },
      yaxis: { autorange: "reversed", type: "category" },
      width: 720,
      height: 620,
      margin: { l: 110, b: 120 },
    },
  };
}
