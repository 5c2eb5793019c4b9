/** Learning curves: loss and accuracy per epoch, training vs validation, as two side-by-side panels. */
import type { Figure, ScatterTrace } from "./types";
import { cleanError } from "../errors";

/** Per-epoch history as training returns it (validation series may be empty or shorter). */
export interface CurveHistory {
  loss: readonly number[];
  acc: readonly number[];
  val_loss?: readonly number[];
  val_acc?: readonly number[];
  /** 1-based epoch whose weights were kept (early stopping); marked on both panels. */
  bestEpoch?: number;
  restoredBest?: boolean;
}

const TRAIN = "#1f77b4";
const VAL = "#ff7f0e";

/** Loss (left) and accuracy (right) per epoch, train solid and validation dashed. */
export function learningCurves(history: CurveHistory, opts: { title?: string } = {}): Figure {
  if (!history.loss || history.loss.length === 0) {
    // Expected after a training interrupted in its first epoch: one plain line, no stack.
    throw cleanError("learningCurves: the history has no finished epoch (was the training interrupted in its first epoch? re-run it, then this cell)");
  }
  if (history.acc.length !== history.loss.length) {
    throw new Error(`learningCurves: ${history.loss.length} loss values but ${history.acc.length} accuracy values`);
  }
  const epochs = (s: readonly number[]): number[] => s.map((_, i) => i + 1);
  const clean = (s: readonly number[]): (number | null)[] => s.map((v) => (Number.isFinite(v) ? v : null));
  const series = (y: readonly number[], name: string, panel: 1 | 2, val: boolean): ScatterTrace => ({
    type: "scatter",
    mode: "lines+markers",
    name,
    x: epochs(y),
    y: clean(y),
    xaxis: panel === 1 ? "x" : "x2",
    yaxis: panel === 1 ? "y" : "y2",
    legendgroup: val ? "validation" : "train",
    showlegend: panel === 1,
    line: { color: val ? VAL : TRAIN, dash: val ? "dash" : "solid" },
  });
  const data: ScatterTrace[] = [series(history.loss, "train", 1, false)];
  const hasVal = (history.val_loss?.length ?? 0) > 0;
  if (hasVal) data.push(series(history.val_loss ?? [], "validation", 1, true));
  data.push(series(history.acc, "train", 2, false));
  if ((history.val_acc?.length ?? 0) > 0) data.push(series(history.val_acc ?? [], "validation", 2, true));
  const n = history.loss.length;
  const best = history.restoredBest && history.bestEpoch ? history.bestEpoch : undefined;
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Learning curves" },
      xaxis: { title: { text: "epoch" }, domain: [0, 0.45], anchor: "y", ...(n <= 20 ? { dtick: 1 } : {}) },
      yaxis: { title: { text: "loss" }, anchor: "x" },
      xaxis2: { title: { text: "epoch" }, domain: [0.55, 1], anchor: "y2", ...(n <= 20 ? { dtick: 1 } : {}) },
      yaxis2: { title: { text: "accuracy" }, anchor: "x2" },
      annotations: [
        { text: "loss", x: 0.225, y: 1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false },
        { text: "accuracy", x: 0.775, y: 1, xref: "paper", yref: "paper", xanchor: "center", yanchor: "bottom", showarrow: false },
      ],
      shapes: best
        ? (["x", "x2"] as const).map((x) => ({ type: "line", x0: best, x1: best, y0: 0, y1: 1, xref: x, yref: "paper", line: { color: "grey", dash: "dot", width: 1 } }))
        : [],
      legend: { orientation: "h", x: 0.5, xanchor: "center", y: -0.2, yanchor: "top" },
      height: 380,
      hovermode: "x",
    },
  };
}
