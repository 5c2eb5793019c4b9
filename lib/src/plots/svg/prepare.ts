/**
 * Static SVG rendering of figures (see ../svg.ts): traces prepared for drawing: their axes and colour,
 * bars and histograms laid out (grouped, stacked, overlaid), heatmap cell edges, data extents.
 */
import type { BarTrace, HeatmapTrace, HistogramTrace, ImageTrace, Layout, ScatterTrace } from "../types";
import { type Ax, d2l, type Extent } from "./axes";
import { pngSize } from "./text";

export type Cartesian = ScatterTrace | BarTrace | HeatmapTrace | ImageTrace | HistogramTrace;

interface BarMark {
  pos: number; // position (linear units)
  lo: number; // base value
  hi: number; // top value
  width: number;
  text?: string;
  color: string;
  err?: number;
}

export interface Prepared {
  trace: Cartesian;
  index: number;
  color: string;
  xa: Ax;
  ya: Ax;
  bars?: BarMark[];
  horizontal?: boolean;
}

function histBins(t: HistogramTrace): { centres: number[]; counts: number[]; width: number } {
  const xs = (t.x ?? []).filter((v) => typeof v === "number" && Number.isFinite(v));
  if (xs.length === 0) return { centres: [], counts: [], width: 1 };
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  if (hi === lo) { lo -= 0.5; hi += 0.5; }
  const nb = t.nbinsx && t.nbinsx > 0 ? t.nbinsx : Math.max(1, Math.ceil(Math.log2(xs.length) + 1));
  // A round bin width, like Plotly's auto bins.
  const rough = (hi - lo) / nb;
  const base = 10 ** Math.floor(Math.log10(rough));
  const f = rough / base;
  const width = base * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
  // Integer data with integer bins: edges at half-integers, so each bin is centred on its values (as Plotly does).
  const ints = width >= 1 && Number.isInteger(width) && xs.every((v) => Number.isInteger(v));
  const start = ints ? Math.floor(lo / width) * width - 0.5 : Math.floor(lo / width) * width;
  const count = Math.max(1, Math.ceil((hi - start) / width + 1e-9));
  const counts = new Array<number>(count).fill(0);
  for (const v of xs) counts[Math.min(count - 1, Math.floor((v - start) / width))]++;
  const total = xs.length;
  const norm = t.histnorm ?? "";
  const y = counts.map((c) => {
    if (norm === "percent") return (100 * c) / total;
    if (norm === "probability") return c / total;
    if (norm === "density") return c / width;
    if (norm === "probability density") return c / total / width;
    return c;
  });
  return { centres: counts.map((_, i) => start + (i + 0.5) * width), counts: y, width };
}

export function prepareBars(prepared: Prepared[], layout: Partial<Layout>): void {
  const barmode = layout.barmode ?? "group";
  const groups = new Map<string, Prepared[]>();
  for (const p of prepared) {
    if (p.trace.type !== "bar" && p.trace.type !== "histogram") continue;
    p.horizontal = p.trace.type === "bar" && p.trace.orientation === "h";
    const key = `${p.xa.id}${p.ya.id}${p.horizontal ? "h" : "v"}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(p);
  }
  for (const g of groups.values()) {
    const raws = g.map((p) => {
      const posAx = p.horizontal ? p.ya : p.xa;
      const valAx = p.horizontal ? p.xa : p.ya;
      if (p.trace.type === "histogram") {
        const h = histBins(p.trace);
        return { p, pos: h.centres.map((c) => d2l(posAx, c)), val: h.counts, valAx, width: h.width, hist: true };
      }
      const t = p.trace as BarTrace;
      const posRaw: readonly unknown[] = (p.horizontal ? t.y : t.x) ?? [];
      const valRaw = (p.horizontal ? t.x : t.y) as unknown[];
      const val = valRaw.map((v) => (typeof v === "number" && Number.isFinite(v) ? v : typeof v === "string" && Number.isFinite(Number(v)) && v.trim() !== "" ? Number(v) : null));
      return { p, pos: posRaw.map((v) => d2l(posAx, v)), val, valAx, width: undefined as number | undefined, hist: false };
    });
    // Slot width: the smallest gap between distinct positions (1 for categories).
    const all = [...new Set(raws.flatMap((r) => r.pos.filter((v): v is number => v !== null)))].sort((a, b) => a - b);
    let minGap = Infinity;
    for (let i = 1; i < all.length; i++) minGap = Math.min(minGap, all[i] - all[i - 1]);
    if (!Number.isFinite(minGap) || minGap <= 0) minGap = 1;
    const onlyHist = raws.every((r) => r.hist);
    const gap = layout.bargap ?? (onlyHist ? 0 : 0.2);
    const grouped = barmode === "group" && raws.length > 1;
    const stacks = new Map<number, { pos: number; neg: number }>();
    raws.forEach((r, k) => {
      const slot = (r.width ?? minGap) * (1 - gap);
      const w = grouped ? slot / raws.length : slot;
      const off = grouped ? -slot / 2 + w * (k + 0.5) : 0;
      const t = r.p.trace;
      const texts = t.type === "bar" && t.textposition !== "none" ? t.text : undefined;
      const colors = t.type === "bar" ? t.marker?.color : undefined;
      // error_y runs along y: vertical bars only (horizontal bars would need error_x).
      const errs = t.type === "bar" && !r.p.horizontal && t.error_y && t.error_y.visible !== false ? t.error_y.array : undefined;
      const marks: BarMark[] = [];
      r.pos.forEach((pos, i) => {
        const v = r.val[i];
        if (pos === null || v === null || v === undefined) return;
        let lo = 0;
        let hi = v;
        if (barmode === "stack" || barmode === "relative") {
          const s = stacks.get(pos) ?? { pos: 0, neg: 0 };
          if (v >= 0 || barmode === "stack") { lo = s.pos; hi = s.pos + v; s.pos = hi; }
          else { lo = s.neg; hi = s.neg + v; s.neg = hi; }
          stacks.set(pos, s);
        }
        const color = Array.isArray(colors) ? colors[i] ?? r.p.color : typeof colors === "string" ? colors : r.p.color;
        marks.push({ pos: pos + off, lo, hi, width: w, text: texts?.[i], color, err: errs?.[i] });
      });
      r.p.bars = marks;
    });
  }
}

export function addExtents(p: Prepared): void {
  const { trace: t, xa, ya } = p;
  const nums = (ax: Ax, vals: readonly unknown[]): number[] => vals.map((v) => d2l(ax, v)).filter((v): v is number => v !== null && Number.isFinite(v));
  const ext = (ax: Ax, vals: number[], e: Omit<Extent, "min" | "max">): void => {
    if (vals.length) ax.ext.push({ min: Math.min(...vals), max: Math.max(...vals), ...e });
  };
  if (t.type === "scatter") {
    const mode = scatterMode(t);
    const markers = mode.includes("markers");
    const text = mode.includes("text");
    const ppad = markers ? (t.marker?.size ?? 6) * 0.8 + 1 : text ? 6 : 0;
    ext(xa, nums(xa, t.x ?? []), xa.type === "category" ? {} : { padded: markers || text, ppad });
    ext(ya, nums(ya, t.y ?? []), ya.type === "category" ? {} : { padded: true, ppad });
  } else if (p.bars) {
    const posAx = p.horizontal ? ya : xa;
    const valAx = p.horizontal ? xa : ya;
    const edges = p.bars.flatMap((b) => [b.pos - b.width / 2, b.pos + b.width / 2]);
    if (posAx.type !== "category") ext(posAx, edges, {});
    const vals: number[] = [];
    for (const b of p.bars) {
      const lo = valAx.type === "log" ? null : b.lo;
      const hi = valAx.type === "log" ? (b.hi > 0 ? Math.log10(b.hi) : null) : b.hi;
      if (lo !== null) vals.push(lo);
      if (hi !== null) vals.push(hi);
      if (b.err && valAx.type !== "log") vals.push(b.hi + b.err, b.hi - b.err);
    }
    const hasText = p.bars.some((b) => b.text);
    ext(valAx, vals, { padded: true, tozero: valAx.type !== "log", ppad: hasText && t.type === "bar" && t.textposition === "outside" ? 16 : 0 });
  } else if (t.type === "heatmap") {
    const g = heatmapGrid(t, xa, ya);
    if (g.rows === 0 || g.cols === 0) return;
    if (xa.type !== "category" || !t.x) ext(xa, [g.xe[0], g.xe[g.xe.length - 1]], {});
    if (ya.type !== "category" || !t.y) ext(ya, [g.ye[0], g.ye[g.ye.length - 1]], {});
  } else if (t.type === "image") {
    const s = pngSize(t.source);
    if (s) {
      const dx = t.dx ?? 1;
      const dy = t.dy ?? 1;
      ext(xa, [-dx / 2, (s.w - 0.5) * dx], {});
      ext(ya, [-dy / 2, (s.h - 0.5) * dy], {});
    }
  }
}

export function scatterMode(t: ScatterTrace): string {
  return t.mode ?? ((t.x?.length ?? t.y?.length ?? 0) < 20 ? "lines+markers" : "lines");
}

interface HeatGrid {
  xe: number[]; // column edges (linear units)
  ye: number[]; // row edges
  rows: number;
  cols: number;
}

function edgesOf(ax: Ax, vals: readonly (string | number)[] | undefined, n: number): number[] {
  if (!vals || vals.length === 0) return Array.from({ length: n + 1 }, (_, i) => i - 0.5);
  const c = vals.map((v) => d2l(ax, v));
  if (c.some((v) => v === null)) return Array.from({ length: n + 1 }, (_, i) => i - 0.5);
  const v = c as number[];
  if (ax.type === "category") return Array.from({ length: n + 1 }, (_, i) => (i < n ? (v[i] ?? i) - 0.5 : (v[n - 1] ?? n - 1) + 0.5));
  if (v.length >= n + 1) return v.slice(0, n + 1); // already bin edges
  const out: number[] = [];
  for (let i = 0; i <= n; i++) {
    if (n === 1) return [v[0] - 0.5, v[0] + 0.5];
    if (i === 0) out.push(v[0] - (v[1] - v[0]) / 2);
    else if (i === n) out.push(v[n - 1] + (v[n - 1] - v[n - 2]) / 2);
    else out.push((v[i - 1] + v[i]) / 2);
  }
  return out;
}

export function heatmapGrid(t: HeatmapTrace, xa: Ax, ya: Ax): HeatGrid {
  const rows = t.z?.length ?? 0;
  const cols = Math.max(0, ...(t.z ?? []).map((r) => r?.length ?? 0));
  return { xe: edgesOf(xa, t.x, cols), ye: edgesOf(ya, t.y, rows), rows, cols };
}
