/**
 * Distribution figures: class balance per split (grouped bars) and pixel-intensity histograms
 * (overall, and per class). Histograms are binned here so a figure carries bin counts, not every pixel.
 */
import { CLASS_NAMES } from "../data/classes";
import type { ImageSource } from "./images";
import { histogramCounts } from "../stats";
import type { BarTrace, Figure, ScatterTrace } from "./types";

/**
 * Class counts per split side by side, e.g. `{ train: [...10], validation: [...], test: [...] }`
 * (one grouped bar trace per split, in the order given). `normalize` shows fractions of each split.
 */
export function classDistribution(
  counts: Readonly<Record<string, readonly number[]>>,
  opts: { title?: string; classNames?: readonly string[]; normalize?: boolean } = {},
): Figure {
  const names = opts.classNames ?? CLASS_NAMES;
  const splits = Object.keys(counts);
  if (splits.length === 0) throw new Error("classDistribution: no splits given; pass e.g. { train: counts, test: counts }");
  const data: BarTrace[] = splits.map((s) => {
    const c = counts[s];
    if (c.length !== names.length) throw new Error(`classDistribution: split "${s}" has ${c.length} counts for ${names.length} classes`);
    const total = c.reduce((a, b) => a + b, 0);
    const y = opts.normalize ? c.map((v) => (total ? v / total : 0)) : [...c];
    return {
      type: "bar",
      name: `${s} (${total.toLocaleString("en-US")})`,
      x: [...names],
      y,
      hovertemplate: opts.normalize ? "%{x}: %{y:.1%}<extra>" + s + "</extra>" : "%{x}: %{y}<extra>" + s + "</extra>",
    };
  });
  return {
    data,
    layout: {
      title: { text: opts.title ?? "Class balance per split" },
      barmode: "group",
      xaxis: { title: { text: "class" }, tickangle: -30 },
      yaxis: { title: { text: opts.normalize ? "fraction of split" : "images" }, ...(opts.normalize ? { tickformat: ".0%" } : {}) },
      legend: { orientation: "h", x: 0.5, xanchor: "center", y: 1.02, yanchor: "bottom" },
      height: 420,
      margin: { t: 80 },
    },
  };
}

/** Options of {@link intensityHistogram}. */
export interface IntensityHistogramOptions {
  /** Only these images (default: all). */
  indices?: ArrayLike<number>;
  /** One line per class instead of one overall histogram. */
  byClass?: boolean;
  /** Number of bins over 0–255 (default 32). */
  bins?: number;
  /** Leave out zero pixels (the background, ~50% of all pixels), so the ink distribution is visible. */
  excludeZero?: boolean;
  /** Logarithmic count axis. */
  logY?: boolean;
  title?: string;
  classNames?: readonly string[];
}

/**
 * Pixel-intensity histogram, as the fraction of pixels per bin: one bar trace overall, or one line
 * per class (`byClass`), so classes of different sizes compare on the same scale.
 */
export function intensityHistogram(set: ImageSource, opts: IntensityHistogramOptions = {}): Figure {
  const names = opts.classNames ?? CLASS_NAMES;
  const bins = opts.bins ?? 32;
  const size = set.rows * set.cols;
  const n = opts.indices ? opts.indices.length : set.labels.length;
  const groups = opts.byClass ? names.length : 1;
  const values: number[][] = Array.from({ length: groups }, () => []);
  for (let j = 0; j < n; j++) {
    const i = opts.indices ? opts.indices[j] : j;
    const g = opts.byClass ? set.labels[i] : 0;
    const dst = values[g];
    const off = i * size;
    for (let p = 0; p < size; p++) {
      const v = set.images[off + p];
      if (opts.excludeZero && v === 0) continue;
      dst.push(v);
    }
  }
  const hists = values.map((v) => histogramCounts(v, bins, 0, 255));
  const centres = hists[0].edges.slice(0, -1).map((e, k) => Math.round(((e + hists[0].edges[k + 1]) / 2) * 100) / 100);
  const frac = (c: number[]): number[] => {
    const t = c.reduce((a, b) => a + b, 0);
    return c.map((v) => (t ? Math.round((v / t) * 1e6) / 1e6 : 0));
  };
  const data: (BarTrace | ScatterTrace)[] = opts.byClass
    ? hists.map((h, y) => ({ type: "scatter", mode: "lines", name: names[y], x: centres, y: frac(h.counts), line: { shape: "hvh" } }) satisfies ScatterTrace)
    : [{ type: "bar", name: "all classes", x: centres, y: frac(hists[0].counts) } satisfies BarTrace];
  const what = opts.excludeZero ? "non-zero pixels" : "pixels";
  return {
    data,
    layout: {
      title: { text: opts.title ?? `Pixel intensity${opts.byClass ? " per class" : ""} (${what})` },
      xaxis: { title: { text: "pixel value (0 = background, 255 = full ink)" }, range: [0, 255] },
      yaxis: { title: { text: `fraction of ${what}` }, ...(opts.logY ? { type: "log" } : {}) },
      bargap: 0.05,
      showlegend: Boolean(opts.byClass),
      height: 400,
    },
  };
}
