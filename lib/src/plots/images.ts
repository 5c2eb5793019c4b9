/**
 * Image figures: grids of Fashion-MNIST images with titles, mean image per class, and sample
 * predictions (true vs predicted, wrong ones in red). Each image is one panel (a PNG image trace, or a
 * greyscale heatmap), drawn so 0 is white (ink is dark, as the images are usually shown), equal aspect, no ticks.
 */
import { CLASS_NAMES } from "../data/classes";
import { gridLayout, panelAxes } from "./grid";
import { greyImageDataUri } from "./png";
import type { Axis, Figure, HeatmapTrace, ImageTrace, Matrix } from "./types";

/** One image as flat row-major pixels: bytes 0–255 or floats in [0, 1]. */
export type Pixels = ArrayLike<number>;

/** Options of {@link imageGrid}. */
export interface ImageGridOptions {
  images: readonly Pixels[];
  /** One title per image (shown above it). */
  titles?: readonly string[];
  /** Colour per title (e.g. red for wrong predictions); undefined = default. */
  titleColors?: readonly (string | undefined)[];
  /** Panels per row (default: min(count, 10)). */
  columns?: number;
  /** Image height and width in pixels (default 28×28). */
  rows?: number;
  cols?: number;
  title?: string;
  /** Pixel value shown black (default: 255 if any value exceeds 1, else 1). */
  zmax?: number;
  /** Pixel size of one panel (default 90). */
  panelSize?: number;
  /**
   * "png" (default): one image trace per panel carrying a PNG data URI (~0.5 kB per 28×28 image in the
   * notebook). "heatmap": one heatmap per panel with the pixel values (hover shows each value, ~10× larger).
   */
  encoding?: "png" | "heatmap";
}

const IMAGE_AXIS: Axis = { showticklabels: false, ticks: "", showgrid: false, zeroline: false };

/**
 * Row-major pixels → rows of values (Plotly's z), first row at the top. Non-integers are rounded to
 * `decimals` (default 3; 1 suits the 0–255 scale) to keep notebooks small.
 */
export function toMatrix(pixels: Pixels, rows: number, cols: number, decimals = 3): Matrix {
  const scale = 10 ** decimals;
  if (pixels.length !== rows * cols) {
    throw new Error(`image has ${pixels.length} values, expected ${rows}×${cols} = ${rows * cols}; pass rows/cols for other sizes`);
  }
  const z: Matrix = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = new Array(cols);
    for (let c = 0; c < cols; c++) {
      const v = pixels[r * cols + c];
      row[c] = Number.isInteger(v) ? v : Math.round(v * scale) / scale;
    }
    z.push(row);
  }
  return z;
}

/** A grid of greyscale images with optional titles; one heatmap trace per image. */
export function imageGrid(opts: ImageGridOptions): Figure {
  const n = opts.images.length;
  if (n === 0) throw new Error("imageGrid: no images given");
  if (opts.titles && opts.titles.length !== n) {
    throw new Error(`imageGrid: ${n} images but ${opts.titles.length} titles; give one title per image`);
  }
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const columns = Math.max(1, Math.min(opts.columns ?? 10, n));
  const gridRows = Math.ceil(n / columns);
  let zmax = opts.zmax;
  if (zmax === undefined) {
    zmax = 1;
    for (const img of opts.images) {
      for (let i = 0; i < img.length; i++) if (img[i] > 1) { zmax = 255; break; }
      if (zmax === 255) break;
    }
  }
  const zTop = zmax;
  const data: (HeatmapTrace | ImageTrace)[] = opts.images.map((img, k): HeatmapTrace | ImageTrace => {
    const a = panelAxes(k);
    if ((opts.encoding ?? "png") === "png") {
      if (img.length !== rows * cols) throw new Error(`image has ${img.length} values, expected ${rows}×${cols} = ${rows * cols}; pass rows/cols for other sizes`);
      return { type: "image", source: greyImageDataUri(img, cols, rows, zTop), xaxis: a.x, yaxis: a.y, name: opts.titles?.[k] ?? `image ${k + 1}`, hovertemplate: "row %{y}, col %{x}<extra></extra>" };
    }
    return {
      type: "heatmap",
      z: toMatrix(img, rows, cols, zTop > 1 ? 1 : 2),
      colorscale: "Greys",
      // Plotly's Greys runs black → white; reversed, 0 (background) is white and ink is dark.
      reversescale: true,
      zmin: 0,
      zmax: zTop,
      showscale: false,
      xaxis: a.x,
      yaxis: a.y,
      name: opts.titles?.[k] ?? `image ${k + 1}`,
      hovertemplate: "row %{y}, col %{x}: %{z}<extra></extra>",
    };
  });
  const g = gridLayout(n, { rows: gridRows, columns, xGap: 0.01, yGap: 0.25 / gridRows }, {
    titles: opts.titles,
    titleColors: opts.titleColors,
    xAxis: IMAGE_AXIS,
    yAxis: { ...IMAGE_AXIS, autorange: "reversed" },
  });
  // Equal aspect: each y axis is tied to its x axis.
  for (let k = 0; k < n; k++) {
    const a = panelAxes(k);
    g.axes[a.yKey as "yaxis"] = { ...g.axes[a.yKey as "yaxis"], scaleanchor: a.x, scaleratio: 1, constrain: "domain" };
    g.axes[a.xKey as "xaxis"] = { ...g.axes[a.xKey as "xaxis"], constrain: "domain" };
  }
  const panel = opts.panelSize ?? 90;
  const top = opts.title ? 50 : 25;
  return {
    data,
    layout: {
      ...g.axes,
      ...(opts.title ? { title: { text: opts.title } } : {}),
      annotations: g.annotations,
      // Wide enough for the title too (about 8 px per character at Plotly's default title size).
      width: Math.max(300, columns * panel + 40, (opts.title?.length ?? 0) * 8 + 40),
      height: gridRows * (panel + 18) + top + 10,
      margin: { l: 20, r: 20, t: top, b: 10 },
      showlegend: false,
      plot_bgcolor: "white",
    },
  };
}

/** Labels and images for {@link sampleGrid}: `perClass` examples of each class, in class order. */
export function samplesPerClass(labels: ArrayLike<number>, perClass: number, numClasses: number = CLASS_NAMES.length): number[] {
  const picked: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y >= 0 && y < numClasses && picked[y].length < perClass) picked[y].push(i);
  }
  return picked.flat();
}

/** An image set as {@link imageGrid} reads it: flat pixels, labels, image size. */
export interface ImageSource {
  images: Uint8Array;
  labels: Uint8Array;
  rows: number;
  cols: number;
}

/** Flat pixels of image i of a set (a view, no copy). */
export function imageAt(set: Pick<ImageSource, "images" | "rows" | "cols">, i: number): Uint8Array {
  const size = set.rows * set.cols;
  if (!Number.isInteger(i) || i < 0 || (i + 1) * size > set.images.length) throw new Error(`image index ${i} is out of range`);
  return set.images.subarray(i * size, (i + 1) * size);
}

/** The first `perClass` images of each class, one row per class, titled with the class name. */
export function sampleGrid(set: ImageSource, perClass = 5, opts: { title?: string; classNames?: readonly string[] } = {}): Figure {
  const names = opts.classNames ?? CLASS_NAMES;
  const idx = samplesPerClass(set.labels, perClass, names.length);
  return imageGrid({
    images: idx.map((i) => imageAt(set, i)),
    titles: idx.map((i) => names[set.labels[i]]),
    columns: perClass,
    rows: set.rows,
    cols: set.cols,
    title: opts.title ?? `${perClass} examples per class`,
    zmax: 255,
    panelSize: 80,
  });
}

/** Mean image per class (as from {@link meanImagesByClass}), one panel per class. */
export function meanImageFigure(means: readonly Pixels[], opts: { title?: string; classNames?: readonly string[]; rows?: number; cols?: number; columns?: number } = {}): Figure {
  const names = opts.classNames ?? CLASS_NAMES;
  if (means.length !== names.length) throw new Error(`meanImageFigure: ${means.length} images for ${names.length} classes`);
  let zmax = 0;
  for (const m of means) for (let i = 0; i < m.length; i++) zmax = Math.max(zmax, m[i]);
  return imageGrid({
    images: means,
    titles: names,
    columns: opts.columns ?? 5,
    rows: opts.rows,
    cols: opts.cols,
    title: opts.title ?? "Mean image per class",
    zmax: zmax > 1 ? 255 : 1,
    panelSize: 110,
  });
}

/** Options of {@link predictionGrid}. */
export interface PredictionGridOptions {
  images: readonly Pixels[];
  trueLabels: ArrayLike<number>;
  predicted: ArrayLike<number>;
  classNames?: readonly string[];
  columns?: number;
  title?: string;
  rows?: number;
  cols?: number;
}

/** Sample predictions: each panel titled "true → predicted"; wrong predictions are titled in red. */
export function predictionGrid(opts: PredictionGridOptions): Figure {
  const names = opts.classNames ?? CLASS_NAMES;
  const n = opts.images.length;
  if (opts.trueLabels.length !== n || opts.predicted.length !== n) {
    throw new Error(`predictionGrid: ${n} images, ${opts.trueLabels.length} true labels, ${opts.predicted.length} predictions; lengths must match`);
  }
  const titles: string[] = [];
  const colors: (string | undefined)[] = [];
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    const t = opts.trueLabels[i];
    const p = opts.predicted[i];
    const ok = t === p;
    if (!ok) wrong++;
    titles.push(ok ? `${names[t]} ✓` : `${names[t]} → ${names[p]}`);
    colors.push(ok ? "#2a7f2a" : "#d62728");
  }
  return imageGrid({
    images: opts.images,
    titles,
    titleColors: colors,
    columns: opts.columns ?? 6,
    rows: opts.rows,
    cols: opts.cols,
    title: opts.title ?? `Sample predictions (true → predicted; ${wrong} of ${n} wrong, in red)`,
    panelSize: 110,
  });
}
