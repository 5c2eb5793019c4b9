/**
 * Static SVG rendering of figures (see ../svg.ts): drawing of heatmaps (colour scales, cell text), images
 * (PNG data URIs) and simplified parallel coordinates.
 */
import type { HeatmapTrace, ImageTrace, ParcoordsTrace } from "../types";
import { l2p } from "./axes";
import { d3Format, formatNumber, linearTicks, minus, niceStep } from "./format";
import { heatmapGrid, type Prepared } from "./prepare";
import { contrastText, INK, makeScale, scaleColor } from "./style";
import { escapeXml, n1, pngSize, textEl } from "./text";

export function zRange(t: HeatmapTrace): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const row of t.z ?? []) for (const v of row ?? []) if (typeof v === "number" && Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  return [t.zmin ?? lo, t.zmax ?? hi];
}

/** Fills `%{text}`, `%{z}`, `%{x}`, `%{y}` (with optional d3 formats like `%{z:.2f}`) of a texttemplate. */
function fillTemplate(tpl: string, vals: Record<string, unknown>): string {
  return tpl.replace(/%\{(\w+)(?::([^}]*))?\}/g, (_, key: string, fmt?: string) => {
    const v = vals[key];
    if (v === undefined || v === null) return "";
    if (fmt && typeof v === "number") return d3Format(v, fmt) ?? String(v);
    return String(v);
  });
}

export function drawHeatmap(t: HeatmapTrace, p: Prepared, fontSize: number): string {
  const { xa, ya } = p;
  const g = heatmapGrid(t, xa, ya);
  const [zmin, zmax] = zRange(t);
  const scale = makeScale(t.colorscale, t.reversescale, zmin, zmax, "RdBu");
  const rects: string[] = [];
  const texts: string[] = [];
  const xp = g.xe.map((v) => l2p(xa, v));
  const yp = g.ye.map((v) => l2p(ya, v));
  const tpl = t.texttemplate;
  // Cell text size: Plotly fits it into the cells (at most the font size).
  let maxChars = 1;
  if (tpl) for (let r = 0; r < g.rows; r++) for (let c = 0; c < g.cols; c++) maxChars = Math.max(maxChars, fillTemplate(tpl, { text: t.text?.[r]?.[c], z: t.z[r]?.[c] }).length);
  const cellW = g.cols ? Math.min(...xp.slice(1).map((v, i) => Math.abs(v - xp[i]))) : 0;
  const cellH = g.rows ? Math.min(...yp.slice(1).map((v, i) => Math.abs(v - yp[i]))) : 0;
  const tsize = Math.max(6, Math.min(fontSize, cellH * 0.6, (cellW * 0.9) / (0.58 * maxChars)));
  // A uniform grid is drawn in cell units (one scaled group, integer rect coordinates): ~30% smaller.
  const uniform = (e: number[]): boolean => e.length < 2 || e.every((v, i) => i === 0 || Math.abs(v - e[i - 1] - (e[1] - e[0])) < 1e-6 * Math.abs(e[1] - e[0]));
  const unit = g.rows > 0 && g.cols > 0 && uniform(xp) && uniform(yp);
  for (let r = 0; r < g.rows; r++) {
    const row = t.z[r] ?? [];
    const y0 = Math.min(yp[r], yp[r + 1]);
    const h = Math.abs(yp[r + 1] - yp[r]);
    for (let c = 0; c < g.cols; c++) {
      const v = row[c];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const x0 = Math.min(xp[c], xp[c + 1]);
      const w = Math.abs(xp[c + 1] - xp[c]);
      const fill = scaleColor(scale, v);
      rects.push(unit ? `<rect x="${c}" y="${r}" width="1" height="1" fill="${fill}"/>` : `<rect x="${n1(x0)}" y="${n1(y0)}" width="${n1(w)}" height="${n1(h)}" fill="${fill}"/>`);
      if (tpl) {
        const s = fillTemplate(tpl, { text: t.text?.[r]?.[c], z: v, x: t.x?.[c], y: t.y?.[r] });
        if (s) texts.push(textEl(x0 + w / 2, y0 + h / 2, s, { size: tsize, anchor: "middle", valign: "middle", color: contrastText(fill) }));
      }
    }
  }
  const num = (v: number): string => String(Math.round(v * 1e4) / 1e4);
  const tf = unit ? ` transform="matrix(${num(xp[1] - xp[0])} 0 0 ${num(yp[1] - yp[0])} ${num(xp[0])} ${num(yp[0])})"` : "";
  return `<g class="cells" shape-rendering="crispEdges"${tf}>${rects.join("")}</g>` + (texts.length ? `<g class="cell-text">${texts.join("")}</g>` : "");
}

export function drawImage(t: ImageTrace, p: Prepared): string {
  const s = pngSize(t.source);
  if (!s || !/^data:image\//i.test(t.source)) return "";
  const dx = t.dx ?? 1;
  const dy = t.dy ?? 1;
  const x0 = l2p(p.xa, -dx / 2);
  const x1 = l2p(p.xa, (s.w - 0.5) * dx);
  const y0 = l2p(p.ya, -dy / 2);
  const y1 = l2p(p.ya, (s.h - 0.5) * dy);
  // Image pixel (0,0) at the first edge of each axis; the matrix flips the image when an axis runs backwards.
  const a = (x1 - x0) / s.w;
  const d = (y1 - y0) / s.h;
  return `<image width="${s.w}" height="${s.h}" preserveAspectRatio="none" style="image-rendering:pixelated" transform="matrix(${a.toFixed(4).replace(/\.?0+$/, "")} 0 0 ${d.toFixed(4).replace(/\.?0+$/, "")} ${n1(x0)} ${n1(y0)})" href="${escapeXml(t.source)}"/>`;
}

export function drawParcoords(t: ParcoordsTrace, plot: { l: number; t: number; w: number; h: number }, fontSize: number, dflt: string): string {
  const dims = t.dimensions ?? [];
  if (dims.length === 0) return "";
  const top = plot.t;
  const bottom = plot.t + plot.h;
  const xs = dims.map((_, i) => (dims.length === 1 ? plot.l + plot.w / 2 : plot.l + (i * plot.w) / (dims.length - 1)));
  const ranges = dims.map((d): [number, number] => {
    if (d.range) return d.range;
    const v = d.values.filter((x) => Number.isFinite(x));
    let lo = v.length ? Math.min(...v) : 0;
    let hi = v.length ? Math.max(...v) : 1;
    if (lo === hi) { lo -= 1; hi += 1; }
    return [lo, hi];
  });
  const yOf = (k: number, v: number): number => bottom - ((v - ranges[k][0]) / (ranges[k][1] - ranges[k][0] || 1)) * plot.h;
  const colors = t.line?.color;
  const cvals = Array.isArray(colors) ? colors.filter((v) => Number.isFinite(v)) : [];
  const scale = makeScale(t.line?.colorscale, false, t.line?.cmin ?? (cvals.length ? Math.min(...cvals) : 0), t.line?.cmax ?? (cvals.length ? Math.max(...cvals) : 1), "Viridis");
  const rowsN = Math.max(0, ...dims.map((d) => d.values.length));
  const lines: string[] = [];
  for (let i = 0; i < rowsN; i++) {
    const pts: string[] = [];
    for (let k = 0; k < dims.length; k++) {
      const v = dims[k].values[i];
      if (Number.isFinite(v)) pts.push(`${n1(xs[k])},${n1(yOf(k, v))}`);
    }
    const c = Array.isArray(colors) && Number.isFinite(colors[i]) ? scaleColor(scale, colors[i]) : dflt;
    lines.push(`<polyline points="${pts.join(" ")}" stroke="${c}"/>`);
  }
  const axesOut: string[] = [];
  dims.forEach((d, k) => {
    const x = xs[k];
    const [lo, hi] = ranges[k];
    let ticks: { v: number; label: string }[];
    if (d.tickvals) ticks = d.tickvals.map((v, i) => ({ v, label: d.ticktext?.[i] ?? formatNumber(v, 1, Math.abs(v)) }));
    else {
      const step = niceStep(hi - lo, plot.h, 50);
      const vals = linearTicks(lo, hi, step);
      const maxAbs = Math.max(0, ...vals.map(Math.abs));
      ticks = vals.map((v) => ({ v, label: formatNumber(v, step, maxAbs) }));
    }
    ticks = ticks.filter((tk) => tk.v >= Math.min(lo, hi) - 1e-9 && tk.v <= Math.max(lo, hi) + 1e-9);
    const tickPath = ticks.map((tk) => `M${n1(x - 4)} ${n1(yOf(k, tk.v))}h4`).join("");
    axesOut.push(`<path d="M${n1(x)} ${n1(top)}V${n1(bottom)}${tickPath}" stroke="${INK}" stroke-width="1" fill="none"/>`);
    const tl = ticks.map((tk) => textEl(x - 6, yOf(k, tk.v), tk.label, { size: fontSize * 0.9, anchor: "end", valign: "middle", halo: true })).join("");
    axesOut.push(`<g class="pc-ticks">${tl}</g>`);
    // Plotly writes each axis' range above and below it (numeric axes), and its label above that.
    const numeric = !d.tickvals;
    if (numeric) {
      const fmt = (v: number): string => minus(Number(v.toPrecision(4)).toString());
      axesOut.push(textEl(x, top - 8, fmt(hi), { size: fontSize * 0.9, anchor: "middle", valign: "bottom" }));
      axesOut.push(textEl(x, bottom + 8, fmt(lo), { size: fontSize * 0.9, anchor: "middle", valign: "top" }));
    }
    axesOut.push(textEl(x, top - 8 - (numeric ? fontSize * 1.5 : 0), d.label, { anchor: "middle", valign: "bottom", cls: "pc-label" }));
  });
  const name = t.name ? `<title>${escapeXml(t.name)}</title>` : "";
  return `<g class="trace parcoords">${name}<g class="pc-lines" fill="none" stroke-width="1.2" stroke-opacity="0.9">${lines.join("")}</g>${axesOut.join("")}</g>`;
}
