/**
 * Statistics of image sets, the numbers behind the exploration charts (usable without them): mean
 * image per class, per-image statistics (mean intensity, ink fraction), distances between class means
 * (which classes look alike), histogram counts.
 */
import type { ImageSource } from "./plots/images";

/** Mean image of each class (pixel values in the set's scale, 0–255), one Float64Array per class. */
export function meanImagesByClass(set: ImageSource, numClasses = 10, indices?: ArrayLike<number>): Float64Array[] {
  const size = set.rows * set.cols;
  const sums = Array.from({ length: numClasses }, () => new Float64Array(size));
  const counts = new Array<number>(numClasses).fill(0);
  const n = indices ? indices.length : set.labels.length;
  for (let j = 0; j < n; j++) {
    const i = indices ? indices[j] : j;
    const y = set.labels[i];
    if (y >= numClasses) throw new Error(`label ${y} of image ${i} is not below ${numClasses}`);
    counts[y]++;
    const s = sums[y];
    const off = i * size;
    for (let p = 0; p < size; p++) s[p] += set.images[off + p];
  }
  return sums.map((s, y) => {
    if (counts[y] === 0) throw new Error(`class ${y} has no images in the selection; cannot take its mean`);
    return s.map((v) => v / counts[y]);
  });
}

/** Per-image statistics, one entry per image (columns for a DataFrame). */
export interface ImageStatistics {
  label: number[];
  /** Mean pixel value, 0–255. */
  meanIntensity: number[];
  /** Standard deviation of the pixel values, 0–255. */
  stdIntensity: number[];
  /** Fraction of pixels above the ink threshold. */
  inkFraction: number[];
  /** Brightest pixel, 0–255. */
  maxIntensity: number[];
}

/** Per-image mean, std, max and ink fraction (pixels > `inkThreshold`, default 0 = any ink). */
export function imageStatistics(set: ImageSource, opts: { indices?: ArrayLike<number>; inkThreshold?: number } = {}): ImageStatistics {
  const size = set.rows * set.cols;
  const thr = opts.inkThreshold ?? 0;
  const n = opts.indices ? opts.indices.length : set.labels.length;
  const out: ImageStatistics = { label: [], meanIntensity: [], stdIntensity: [], inkFraction: [], maxIntensity: [] };
  for (let j = 0; j < n; j++) {
    const i = opts.indices ? opts.indices[j] : j;
    const off = i * size;
    let sum = 0;
    let sq = 0;
    let ink = 0;
    let max = 0;
    for (let p = 0; p < size; p++) {
      const v = set.images[off + p];
      sum += v;
      sq += v * v;
      if (v > thr) ink++;
      if (v > max) max = v;
    }
    const mean = sum / size;
    out.label.push(set.labels[i]);
    out.meanIntensity.push(mean);
    out.stdIntensity.push(Math.sqrt(Math.max(0, sq / size - mean * mean)));
    out.inkFraction.push(ink / size);
    out.maxIntensity.push(max);
  }
  return out;
}

/** Euclidean distance between every pair of images (e.g. class means): a symmetric matrix with zero diagonal. */
export function pairwiseDistances(images: readonly ArrayLike<number>[]): number[][] {
  const n = images.length;
  const d = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const x = images[a];
      const y = images[b];
      if (x.length !== y.length) throw new Error(`images ${a} and ${b} differ in size (${x.length} vs ${y.length})`);
      let s = 0;
      for (let p = 0; p < x.length; p++) s += (x[p] - y[p]) ** 2;
      d[a][b] = d[b][a] = Math.sqrt(s);
    }
  }
  return d;
}

/** One pair of {@link closestPairs}. */
export interface ClassPair {
  a: number;
  b: number;
  distance: number;
}

/** The `k` closest distinct pairs (a < b) of a distance matrix, nearest first. */
export function closestPairs(distances: readonly (readonly number[])[], k = 5): ClassPair[] {
  const pairs: ClassPair[] = [];
  for (let a = 0; a < distances.length; a++) for (let b = a + 1; b < distances.length; b++) pairs.push({ a, b, distance: distances[a][b] });
  return pairs.sort((p, q) => p.distance - q.distance || p.a - q.a || p.b - q.b).slice(0, k);
}

/** Histogram counts of values in [lo, hi) in `bins` equal bins (the last bin includes hi). */
export function histogramCounts(values: ArrayLike<number>, bins: number, lo: number, hi: number): { edges: number[]; counts: number[] } {
  if (!(bins >= 1) || !(hi > lo)) throw new Error(`histogram needs bins ≥ 1 and hi > lo, got bins=${bins}, [${lo}, ${hi}]`);
  const counts = new Array<number>(bins).fill(0);
  const w = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < lo || v > hi || Number.isNaN(v)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / w))]++;
  }
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * w), counts };
}
