/**
 * Model-level figures: validation/test accuracy per model (with the write-ups' reported figures as
 * optional markers) and parallel coordinates for a hyperparameter search.
 */
import type { BarTrace, Figure, ParcoordsDimension, ParcoordsTrace, ScatterTrace } from "./types";

/** One model of {@link modelComparison}. */
export interface ModelComparisonRow {
  model: string;
  valAcc?: number;
  testAcc?: number;
  /** Accuracy a write-up reported for this model (drawn as a diamond marker). */
  reported?: number;
}

/** Validation and test accuracy per model as grouped bars; write-up figures as markers when given. */
export function modelComparison(rows: readonly ModelComparisonRow[], opts: { title?: string; yRange?: [number, number] } = {}): Figure {
  if (rows.length === 0) throw new Error("modelComparison: no models given");
  const models = rows.map((r) => r.model);
  const bar = (key: "valAcc" | "testAcc", name: string): BarTrace => ({
    type: "bar",
    name,
    x: models,
    y: rows.map((r) => r[key] ?? 0),
    text: rows.map((r) => r[key]?.toFixed(4) ?? ""),
    textposition: "outside",
    hovertemplate: "%{x}: %{y:.4f}<extra>" + name + "</extra>",
  });
  const data: (BarTrace | ScatterTrace)[] = [bar("valAcc", "validation accuracy"), bar("testAcc", "test accuracy")];
  const reported = rows.filter((r) => r.reported !== undefined);
  if (reported.length > 0) {
    data.push({
      type: "scatter",
      mode: "markers",
      name: "write-up reported",
      x: reported.map((r) => r.model),
      y: reported.map((r) => r.reported ?? null),
      marker: { symbol: "diamond", size: 11, color: "black" },
    });
  }
  const values = rows.flatMap((r) => [r.valAcc, r.testAcc, r.reported]).filter((v): v is number => v !== undefined);
  const lo = values.length ? Math.max(0, Math.floor((Math.min(...values) - 0.05) * 20) / 20) : 0;
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Model comparison" },
      barmode: "group",
      xaxis: { title: { text: "model" }, tickangle: -20 },
      yaxis: { title: { text: "accuracy" }, range: opts.yRange ?? [lo, 1] },
      legend: { orientation: "h", x: 0.5, xanchor: "center", y: 1.02, yanchor: "bottom" },
      height: 450,
      margin: { t: 80 },
    },
  };
}

/**
 * Parallel coordinates for a hyperparameter search: one axis per parameter plus the score, lines
 * coloured by score. Rows are flat records; string-valued parameters become categorical axes.
 */
export function parallelCoordinates(
  rows: readonly Readonly<Record<string, number | string | boolean>>[],
  opts: { score?: string; title?: string; params?: readonly string[] } = {},
): Figure {
  const score = opts.score ?? "score";
  if (rows.length === 0) throw new Error("parallelCoordinates: no rows given");
  const missing = rows.findIndex((r) => typeof r[score] !== "number");
  if (missing >= 0) throw new Error(`parallelCoordinates: row ${missing} has no numeric "${score}"; pass opts.score to name the score column`);
  const params = opts.params ?? Object.keys(rows[0]).filter((k) => k !== score);
  const dims: ParcoordsDimension[] = params.map((p) => {
    const vals = rows.map((r) => r[p]);
    if (vals.every((v) => typeof v === "number")) return { label: p, values: vals as number[] };
    const cats = [...new Set(vals.map((v) => String(v)))].sort();
    return { label: p, values: vals.map((v) => cats.indexOf(String(v))), tickvals: cats.map((_, i) => i), ticktext: cats, range: [0, Math.max(1, cats.length - 1)] };
  });
  const scores = rows.map((r) => r[score] as number);
  dims.push({ label: score, values: scores });
  const trace: ParcoordsTrace = {
    type: "parcoords",
    dimensions: dims,
    line: { color: scores, colorscale: "Viridis", showscale: true, colorbar: { title: { text: score } } },
  };
  return { data: [trace], layout: { title: { text: opts.title ?? `Hyperparameter search (${rows.length} runs)` }, height: 450, margin: { l: 80, r: 80, t: 90 } } };
}
