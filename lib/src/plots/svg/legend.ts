/**
 * Static SVG rendering of figures (see ../svg.ts): colour bars and the legend (entries, size, placement,
 * drawing).
 */
import type { Layout, PlotlyTrace } from "../types";
import type { Tick } from "./axes";
import { formatNumber, linearTicks, niceStep } from "./format";
import { zRange } from "./heatmap";
import { scatterMode } from "./prepare";
import { colorAttr, type ColorScale, COLORWAY, dashArray, hex, makeScale } from "./style";
import { n1, textEl, textWidth } from "./text";
import { markerPath } from "./traces";

interface ColorbarSpec {
  scale: ColorScale;
  title?: string;
}

export function colorbarSpecs(traces: PlotlyTrace[]): ColorbarSpec[] {
  const out: ColorbarSpec[] = [];
  for (const t of traces) {
    if (t.type === "heatmap" && t.showscale !== false) {
      const [lo, hi] = zRange(t);
      out.push({ scale: makeScale(t.colorscale, t.reversescale, lo, hi, "RdBu"), title: t.colorbar?.title?.text });
    } else if (t.type === "parcoords" && t.line?.showscale && Array.isArray(t.line.color)) {
      const c = t.line.color.filter((v) => Number.isFinite(v));
      out.push({ scale: makeScale(t.line.colorscale, false, t.line.cmin ?? Math.min(...c), t.line.cmax ?? Math.max(...c), "Viridis"), title: t.line.colorbar?.title?.text });
    }
  }
  // Plotly stacks every colour bar at the same place; one is enough to read the figure.
  return out.slice(0, 1);
}

function colorbarTicks(s: ColorScale, len: number): Tick[] {
  const step = niceStep(s.cmax - s.cmin, len, 40);
  const vals = linearTicks(s.cmin, s.cmax, step);
  const maxAbs = Math.max(0, ...vals.map(Math.abs));
  return vals.map((v) => ({ v, label: formatNumber(v, step, maxAbs) }));
}

export function colorbarWidth(cb: ColorbarSpec, fontSize: number): number {
  const ticks = colorbarTicks(cb.scale, 300);
  const lw = Math.max(0, ...ticks.map((t) => textWidth(t.label, fontSize)));
  return 10 + 30 + 4 + Math.max(lw, cb.title ? textWidth(cb.title, fontSize * (14 / 12)) - 34 : 0) + 10;
}

export function drawColorbar(cb: ColorbarSpec, plot: { l: number; t: number; w: number; h: number }, fontSize: number, gid: string, defs: string[]): string {
  const x = plot.l + plot.w * 1.02 + 10;
  const titleH = cb.title ? fontSize * 1.8 : 0;
  const y0 = plot.t + titleH;
  const h = Math.max(20, plot.h - titleH);
  const s = cb.scale;
  const stops = s.stops.map(([t, c]) => `<stop offset="${n1(t * 100)}%" stop-color="${hex(c)}"/>`).join("");
  defs.push(`<linearGradient id="${gid}" x1="0" y1="1" x2="0" y2="0">${stops}</linearGradient>`);
  const parts = [`<rect class="colorbar" x="${n1(x)}" y="${n1(y0)}" width="30" height="${n1(h)}" fill="url(#${gid})"/>`];
  const ticks = colorbarTicks(s, h);
  const yOf = (v: number): number => y0 + h - ((v - s.cmin) / (s.cmax - s.cmin || 1)) * h;
  parts.push(`<g class="colorbar-ticks">${ticks.map((t) => textEl(x + 34, yOf(t.v), t.label, { valign: "middle", size: fontSize })).join("")}</g>`);
  if (cb.title) parts.push(textEl(x, plot.t + fontSize * 0.9, cb.title, { size: fontSize * (14 / 12) }));
  return parts.join("");
}

interface LegendItem {
  name: string;
  type: "line" | "bar";
  color: string;
  dash?: string;
  lineWidth: number;
  markers: boolean;
  symbol: string;
  markerSize: number;
  lines: boolean;
  hidden: boolean;
}

export function legendEntries(traces: PlotlyTrace[], colorOf: (t: PlotlyTrace) => string): LegendItem[] {
  const items: LegendItem[] = [];
  const groups = new Set<string>();
  for (const t of traces) {
    if (t.type !== "scatter" && t.type !== "bar" && t.type !== "histogram") continue;
    if (t.showlegend === false) continue;
    const key = t.legendgroup ? `${t.legendgroup}\u0000${t.name ?? ""}` : undefined;
    if (key) {
      if (groups.has(key)) continue;
      groups.add(key);
    }
    const name = t.name ?? `trace ${items.length}`;
    const base = colorOf(t);
    if (t.type === "scatter") {
      const mode = scatterMode(t);
      const mc = t.marker?.color;
      const color = (mode.includes("lines") ? t.line?.color : undefined) ?? (Array.isArray(mc) ? mc[0] : mc) ?? t.line?.color ?? base;
      const sym = Array.isArray(t.marker?.symbol) ? t.marker?.symbol[0] : t.marker?.symbol;
      items.push({ name, type: "line", color, dash: t.line?.dash, lineWidth: t.line?.width ?? 2, markers: mode.includes("markers"), lines: mode.includes("lines"), symbol: sym ?? "circle", markerSize: Math.min(16, t.marker?.size ?? 6), hidden: t.visible === "legendonly" });
    } else {
      const mc = t.type === "bar" ? t.marker?.color : undefined;
      items.push({ name, type: "bar", color: typeof mc === "string" ? mc : base, lineWidth: 0, markers: false, lines: false, symbol: "", markerSize: 0, hidden: t.visible === "legendonly" });
    }
  }
  return items;
}

interface LegendDims {
  w: number;
  h: number;
  /** Item positions relative to the box's top-left. */
  pos: { x: number; y: number }[];
}

export function legendSize(items: LegendItem[], orientation: "h" | "v", maxWidth: number, fontSize: number): LegendDims {
  const rowH = Math.max(19, fontSize * 1.6);
  const pos: { x: number; y: number }[] = [];
  if (orientation === "v") {
    let w = 0;
    items.forEach((it, i) => {
      pos.push({ x: 0, y: i * rowH });
      w = Math.max(w, 40 + textWidth(it.name, fontSize) * 1.05 + 10);
    });
    return { w: w + 2, h: items.length * rowH + 6, pos };
  }
  let x = 0;
  let y = 0;
  let w = 0;
  for (const it of items) {
    const iw = 40 + textWidth(it.name, fontSize) * 1.05 + 12;
    if (x > 0 && x + iw > maxWidth) { x = 0; y += rowH; }
    pos.push({ x, y });
    x += iw;
    w = Math.max(w, x);
  }
  return { w: w + 2, h: y + rowH + 6, pos };
}

export function legendBox(layout: Partial<Layout>, dims: LegendDims, plot: { l: number; t: number; w: number; h: number }, orientation: "h" | "v", cbWidth: number): { x: number; y: number; w: number; h: number } {
  const lg = layout.legend ?? {};
  const lx = lg.x ?? (orientation === "h" ? 0 : 1.02);
  const ly = lg.y ?? (orientation === "h" ? -0.1 : 1);
  const xanchor = lg.xanchor ?? (lx <= 1 / 3 ? "left" : lx >= 2 / 3 ? "right" : "center");
  // Plotly's "auto" anchors: a legend right of the plot hangs from its left edge.
  const xa = lg.xanchor ?? (lx > 1 ? "left" : xanchor);
  const ya = lg.yanchor ?? (ly >= 2 / 3 ? "top" : ly <= 1 / 3 ? "bottom" : "middle");
  let x = plot.l + lx * plot.w + (lx > 1 && lg.x === undefined ? cbWidth : 0);
  let y = plot.t + plot.h - ly * plot.h;
  if (xa === "center") x -= dims.w / 2;
  else if (xa === "right") x -= dims.w;
  if (ya === "middle") y -= dims.h / 2;
  else if (ya === "bottom") y -= dims.h;
  return { x, y, w: dims.w, h: dims.h };
}

export function drawLegend(items: LegendItem[], dims: LegendDims, box: { x: number; y: number }, _o: "h" | "v", fontSize: number): string {
  const rowH = Math.max(19, fontSize * 1.6);
  const parts: string[] = [];
  items.forEach((it, i) => {
    const x = box.x + dims.pos[i].x + 2;
    const cy = box.y + dims.pos[i].y + 3 + rowH / 2;
    const op = it.hidden ? ` opacity="0.5"` : "";
    let glyph = "";
    const col = colorAttr(it.color, COLORWAY[0]);
    if (it.type === "bar") glyph = `<rect x="${n1(x + 14)}" y="${n1(cy - 6)}" width="12" height="12" fill="${col}"/>`;
    else {
      if (it.lines) {
        const dash = dashArray(it.dash, it.lineWidth);
        glyph += `<path d="M${n1(x + 5)} ${n1(cy)}h30" stroke="${col}" stroke-width="${n1(Math.min(it.lineWidth, 5))}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
      }
      if (it.markers) glyph += `<g fill="${col}" color="${col}">${markerPath(it.symbol, x + 20, cy, it.markerSize)}</g>`;
      if (!it.lines && !it.markers) glyph = textEl(x + 20, cy, "Aa", { size: fontSize * 0.8, anchor: "middle", valign: "middle" });
    }
    parts.push(`<g class="legend-item"${op}>${glyph}${textEl(x + 40, cy, it.name, { valign: "middle", size: fontSize })}</g>`);
  });
  return `<g class="legend">${parts.join("")}</g>`;
}
