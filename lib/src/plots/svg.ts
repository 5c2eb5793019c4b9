/**
 * Static SVG rendering of our Plotly figures: the fallback shown where plotly.js cannot run (untrusted
 * notebooks, no internet, no Plotly extension). It draws the subset of Plotly that our builders use —
 * scatter (lines, markers, text, dashes, step shapes), bar and histogram (grouped / stacked / overlaid,
 * horizontal, text labels, error bars), heatmap (named and custom colour scales, reversescale, zmin/zmax,
 * cell text, colour bar), image (PNG data URIs), a simplified parcoords, subplots (axis domains and
 * anchors, equal aspect via scaleanchor), linear / log / category axes with Plotly-like nice ticks,
 * reversed ranges, legend, title, annotations, shapes and margins — with Plotly's default look
 * (colorway, fonts, grid). No hover, no interactivity.
 *
 * The output is a standalone SVG document (no scripts, no external references; images stay data URIs)
 * that scales to its container: viewBox plus width="100%".
 *
 * This module lays the figure out (size, margins, subplots, colour bars and legend space, title) and
 * assembles the document; the parts are in plots/svg/: style.ts (Plotly's look, colour scales), text.ts
 * (escaping, measuring, placing text), format.ts (tick numbers), axes.ts (scales, ticks, axis drawing),
 * prepare.ts (traces laid out: bars, histograms, extents), traces.ts (scatter, bars), heatmap.ts
 * (heatmaps, images, parallel coordinates), legend.ts (colour bars, legend), annotations.ts (shapes, notes).
 */

import type { Axis, Figure, Layout, ParcoordsTrace, PlotlyTrace } from "./types";
import { drawAnnotation, drawShape } from "./svg/annotations";
import { addCat, applyScaleAnchors, type Ax, axisKey, axisTicks, computeRange, d2l, drawAxis, gridLines, isCategorical, l2p, type Tick } from "./svg/axes";
import { drawParcoords } from "./svg/heatmap";
import { colorbarSpecs, colorbarWidth, drawColorbar, drawLegend, legendBox, legendEntries, legendSize } from "./svg/legend";
import { addExtents, type Cartesian, prepareBars, type Prepared } from "./svg/prepare";
import { colorAttr, COLORWAY, FONT_FAMILY, INK } from "./svg/style";
import { escapeXml, idPrefix, n1, textEl, textLines } from "./svg/text";
import { drawTrace } from "./svg/traces";

/** Options of {@link figureSvg}. */
export interface SvgOptions {
  /** Drawing size in px (default: layout.width / layout.height, else 700×450). */
  width?: number;
  height?: number;
}

/** Size the figure is drawn at (layout.width/height when numbers, else 700×450; opts override). */
export function figureSize(fig: Figure, opts: SvgOptions = {}): { width: number; height: number } {
  const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined);
  return { width: num(opts.width) ?? num(fig.layout?.width) ?? 700, height: num(opts.height) ?? num(fig.layout?.height) ?? 450 };
}

/** The figure as a `data:image/svg+xml;base64,…` URI (for `<img src>`). */
export function figureSvgDataUri(fig: Figure, opts?: SvgOptions): string {
  return "data:image/svg+xml;base64," + Buffer.from(figureSvg(fig, opts), "utf8").toString("base64");
}

/** Renders a figure as a standalone SVG document string. */
export function figureSvg(fig: Figure, opts: SvgOptions = {}): string {
  const layout: Partial<Layout> = fig.layout ?? {};
  const { width: W, height: H } = figureSize(fig, opts);
  const fontSize = layout.font?.size ?? 12;
  const family = layout.font?.family ?? FONT_FAMILY;
  const pid = idPrefix(fig);
  const traces: PlotlyTrace[] = (fig.data ?? []).filter((t) => t && t.visible !== false);
  const allTraces: PlotlyTrace[] = fig.data ?? [];
  const colorOf = (t: PlotlyTrace): string => COLORWAY[Math.max(0, allTraces.indexOf(t)) % COLORWAY.length];
  const drawn = traces.filter((t) => t.visible !== "legendonly");
  const cartesian = drawn.filter((t): t is Cartesian => t.type !== "parcoords");
  const parcoords = drawn.filter((t): t is ParcoordsTrace => t.type === "parcoords");

  // ---- axes
  const axes = new Map<string, Ax>();
  const getAx = (id: string): Ax => {
    let ax = axes.get(id);
    if (!ax) {
      const spec: Axis = ((layout as Record<string, unknown>)[axisKey(id)] as Axis | undefined) ?? {};
      ax = { id, letter: id.charAt(0) as "x" | "y", spec, type: "linear", cats: [], catIndex: new Map(), r: [0, 1], p0: 0, len: 1, pos: 0, hasImage: false, barPos: false, ext: [] };
      axes.set(id, ax);
    }
    return ax;
  };
  const pairs: { xa: Ax; ya: Ax }[] = [];
  const tracesAx = cartesian.map((t) => {
    const xa = getAx(t.xaxis && /^x\d*$/.test(t.xaxis) ? t.xaxis : "x");
    const ya = getAx(t.yaxis && /^y\d*$/.test(t.yaxis) ? t.yaxis : "y");
    if (!pairs.some((p) => p.xa === xa && p.ya === ya)) pairs.push({ xa, ya });
    return { t, xa, ya };
  });
  if (cartesian.length === 0 && parcoords.length === 0) {
    // An empty figure: Plotly still draws its default axes.
    const xa = getAx("x");
    const ya = getAx("y");
    xa.ext.push({ min: -1, max: 6 });
    ya.ext.push({ min: -1, max: 4 });
    pairs.push({ xa, ya });
  }

  // Axis types and categories (order of first appearance).
  const raw = new Map<Ax, unknown[]>();
  const push = (ax: Ax, vals: readonly unknown[] | undefined): void => {
    if (!vals) return;
    let a = raw.get(ax);
    if (!a) raw.set(ax, (a = []));
    for (const v of vals) a.push(v);
  };
  for (const { t, xa, ya } of tracesAx) {
    if (t.type === "scatter") { push(xa, t.x); push(ya, t.y); }
    else if (t.type === "bar") { push(xa, t.x); push(ya, t.y); (t.orientation === "h" ? ya : xa).barPos = true; }
    else if (t.type === "histogram") { push(xa, t.x); xa.barPos = true; }
    else if (t.type === "heatmap") { push(xa, t.x); push(ya, t.y); }
    else if (t.type === "image") { xa.hasImage = true; ya.hasImage = true; }
  }
  for (const ax of axes.values()) {
    const vals = raw.get(ax) ?? [];
    ax.type = ax.spec.type ?? (vals.some(isCategorical) ? "category" : "linear");
    if (ax.type === "category") for (const v of vals) addCat(ax, v);
  }

  // ---- prepare traces (bars grouped per subplot)
  const prepared: Prepared[] = tracesAx.map(({ t, xa, ya }) => ({ trace: t, index: allTraces.indexOf(t), color: colorOf(t), xa, ya }));
  prepareBars(prepared, layout);

  // ---- data extents
  for (const p of prepared) addExtents(p);
  // Plotly's autorange also covers annotations placed in data coordinates (log axes: log10 units).
  for (const a of layout.annotations ?? []) {
    for (const [ref, v] of [[a.xref, a.x], [a.yref, a.y]] as const) {
      const ax = ref && /^[xy]\d*$/.test(ref) ? axes.get(ref) : undefined;
      if (!ax) continue;
      const l = ax.type === "log" && typeof v === "number" ? v : d2l(ax, v);
      if (l !== null && Number.isFinite(l)) ax.ext.push({ min: l, max: l, padded: true });
    }
  }

  // ---- legend and colour bars (they push the margins, as Plotly's automargin does)
  const legendItems = prepared.length || traces.length ? legendEntries(traces, colorOf) : [];
  const showLegend = layout.showlegend ?? legendItems.length > 1;
  const colorbars = colorbarSpecs(drawn);

  const margin = { l: layout.margin?.l ?? 80, r: layout.margin?.r ?? 80, t: layout.margin?.t ?? 100, b: layout.margin?.b ?? 80 };
  const legendOrientation = layout.legend?.orientation ?? "v";
  const legendDims = showLegend && legendItems.length ? legendSize(legendItems, legendOrientation, W - margin.l - margin.r, fontSize) : undefined;
  let cbWidth = 0;
  for (const cb of colorbars) cbWidth = Math.max(cbWidth, colorbarWidth(cb, fontSize));
  // Iterate: pushing a margin changes the plot size, which moves paper-positioned boxes.
  for (let iter = 0; iter < 12; iter++) {
    const pw = W - margin.l - margin.r;
    const ph = H - margin.t - margin.b;
    let changed = false;
    if (legendDims) {
      const box = legendBox(layout, legendDims, { l: margin.l, t: margin.t, w: pw, h: ph }, legendOrientation, colorbars.length > 0 ? cbWidth : 0);
      if (box.x + box.w > W - 2 && pw > 100) { margin.r += Math.min(box.x + box.w - (W - 2), pw - 100); changed = true; }
      if (box.x < 2 && pw > 100) { margin.l += Math.min(2 - box.x, pw - 100); changed = true; }
      if (box.y + box.h > H - 2 && ph > 80) { margin.b += Math.min(box.y + box.h - (H - 2), ph - 80); changed = true; }
      if (box.y < 2 && ph > 80) { margin.t += Math.min(2 - box.y, ph - 80); changed = true; }
    }
    if (colorbars.length) {
      const right = margin.l + pw * 1.02 + cbWidth;
      if (right > W - 2 && pw > 100) { margin.r += Math.min(right - (W - 2), pw - 100); changed = true; }
    }
    if (!changed) break;
  }
  const plot = { l: margin.l, t: margin.t, w: Math.max(10, W - margin.l - margin.r), h: Math.max(10, H - margin.t - margin.b) };

  // ---- axis geometry: domains, ranges, equal aspect, positions
  for (const ax of axes.values()) {
    const dom = ax.spec.domain ?? [0, 1];
    if (ax.letter === "x") { ax.p0 = plot.l + dom[0] * plot.w; ax.len = (dom[1] - dom[0]) * plot.w; }
    else { ax.p0 = plot.t + plot.h - dom[0] * plot.h; ax.len = (dom[1] - dom[0]) * plot.h; }
  }
  for (const ax of axes.values()) computeRange(ax);
  applyScaleAnchors(axes);
  for (const ax of axes.values()) {
    const other = ax.spec.anchor && ax.spec.anchor !== "free" ? axes.get(ax.spec.anchor) : pairs.find((p) => (ax.letter === "x" ? p.xa : p.ya) === ax)?.[ax.letter === "x" ? "ya" : "xa"];
    ax.anchor = other;
    if (ax.letter === "x") ax.pos = other ? other.p0 : plot.t + plot.h;
    else ax.pos = other ? other.p0 : plot.l;
  }

  // ---- draw
  const out: string[] = [];
  const defs: string[] = [];
  const titleText = layout.title?.text ?? "";
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  if (layout.plot_bgcolor && layout.plot_bgcolor !== "white" && layout.plot_bgcolor !== "#fff" && layout.plot_bgcolor !== "#ffffff") {
    for (const { xa, ya } of pairs) out.push(`<rect x="${n1(xa.p0)}" y="${n1(ya.p0 - ya.len)}" width="${n1(xa.len)}" height="${n1(ya.len)}" fill="${colorAttr(layout.plot_bgcolor, "#fff")}"/>`);
  }

  // grid and zero lines (below the data)
  const ticks = new Map<Ax, Tick[]>();
  for (const ax of axes.values()) ticks.set(ax, axisTicks(ax, fontSize));
  for (const { xa, ya } of pairs) out.push(gridLines(xa, ya, ticks.get(xa) ?? []), gridLines(ya, xa, ticks.get(ya) ?? []));

  // traces, clipped to their subplot; Plotly's layer order: heatmaps, images, bars, scatter
  const order = (t: Cartesian): number => (t.type === "heatmap" ? 0 : t.type === "image" ? 1 : t.type === "scatter" ? 3 : 2);
  const clipIds = new Map<string, string>();
  const sorted = [...prepared].sort((a, b) => order(a.trace) - order(b.trace) || a.index - b.index);
  const textLayer: string[] = [];
  for (const p of sorted) {
    const key = p.xa.id + p.ya.id;
    let cid = clipIds.get(key);
    if (!cid) {
      cid = `${pid}c${clipIds.size}`;
      clipIds.set(key, cid);
      defs.push(`<clipPath id="${cid}"><rect x="${n1(p.xa.p0)}" y="${n1(p.ya.p0 - p.ya.len)}" width="${n1(p.xa.len)}" height="${n1(p.ya.len)}"/></clipPath>`);
    }
    const name = p.trace.name ? `<title>${escapeXml(p.trace.name)}</title>` : "";
    const body = drawTrace(p, fontSize, textLayer);
    out.push(`<g class="trace ${p.trace.type}" clip-path="url(#${cid})">${name}${body}</g>`);
  }
  out.push(...textLayer);

  // parcoords
  for (const t of parcoords) out.push(drawParcoords(t, plot, fontSize, colorOf(t)));

  // axes: tick labels and titles
  for (const ax of axes.values()) out.push(drawAxis(ax, ticks.get(ax) ?? [], fontSize, H));

  // shapes and annotations
  const paperX = (v: number): number => plot.l + v * plot.w;
  const paperY = (v: number): number => plot.t + plot.h - v * plot.h;
  const refX = (ref: string | undefined, v: unknown, logUnits = false): number | null => {
    if (!ref || ref === "paper") return typeof v === "number" ? paperX(v) : null;
    const m = /^(x\d*)( domain)?$/.exec(ref);
    const ax = m ? axes.get(m[1]) : undefined;
    if (!ax) return null;
    if (m?.[2]) return typeof v === "number" ? ax.p0 + v * ax.len : null;
    // Plotly positions annotations on log axes in log10 units.
    if (logUnits && ax.type === "log" && typeof v === "number") return l2p(ax, v);
    const l = d2l(ax, v);
    return l === null ? null : l2p(ax, l);
  };
  const refY = (ref: string | undefined, v: unknown, logUnits = false): number | null => {
    if (!ref || ref === "paper") return typeof v === "number" ? paperY(v) : null;
    const m = /^(y\d*)( domain)?$/.exec(ref);
    const ax = m ? axes.get(m[1]) : undefined;
    if (!ax) return null;
    if (m?.[2]) return typeof v === "number" ? ax.p0 - v * ax.len : null;
    if (logUnits && ax.type === "log" && typeof v === "number") return l2p(ax, v);
    const l = d2l(ax, v);
    return l === null ? null : l2p(ax, l);
  };
  for (const s of layout.shapes ?? []) out.push(drawShape(s, refX, refY));
  for (const a of layout.annotations ?? []) out.push(drawAnnotation(a, refX, refY, fontSize));

  // colour bars, legend, title
  colorbars.forEach((cb, i) => out.push(drawColorbar(cb, plot, fontSize, `${pid}g${i}`, defs)));
  if (legendDims) out.push(drawLegend(legendItems, legendDims, legendBox(layout, legendDims, plot, legendOrientation, colorbars.length > 0 ? cbWidth : 0), legendOrientation, fontSize));
  if (titleText) {
    const size = layout.title?.font?.size ?? fontSize * 1.4;
    // Plotly: centred on the figure, vertically in the middle of the top margin (at least one line down).
    const lines = textLines(titleText).length;
    const y = Math.max(size * 0.9 + 2, margin.t / 2 - 6 - ((lines - 1) * size * 1.3) / 2 + size * 0.35);
    out.push(textEl(W / 2, y, titleText, { size, anchor: "middle", cls: "title" }));
  }

  const label = escapeXml(textLines(titleText).join(" ") || "Plotly figure");
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" preserveAspectRatio="xMidYMid meet" style="max-width:100%;height:auto" ` +
    `role="img" aria-label="${label}" font-family="${escapeXml(family)}" font-size="${fontSize}" fill="${INK}">` +
    `<title>${label}</title>` +
    (defs.length ? `<defs>${defs.join("")}</defs>` : "") +
    out.filter(Boolean).join("") +
    `</svg>`
  );
}
