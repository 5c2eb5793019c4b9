/**
 * Static SVG rendering of figures (see ../svg.ts): drawing of scatter traces (lines, markers, text) and
 * bars (with text labels and error bars).
 */
import type { ScatterTrace } from "../types";
import { d2l, l2p } from "./axes";
import { drawHeatmap, drawImage } from "./heatmap";
import { type Prepared, scatterMode } from "./prepare";
import { colorAttr, contrastText, dashArray, INK } from "./style";
import { n1, textEl, textWidth } from "./text";

export function drawTrace(p: Prepared, fontSize: number, textLayer: string[]): string {
  const t = p.trace;
  if (t.type === "scatter") return drawScatter(t, p, fontSize);
  if (t.type === "bar" || t.type === "histogram") return drawBars(p, fontSize, textLayer);
  if (t.type === "heatmap") return drawHeatmap(t, p, fontSize);
  if (t.type === "image") return drawImage(t, p);
  return "";
}

export function markerPath(symbol: string, x: number, y: number, size: number): string {
  const r = size / 2;
  const X = n1(x);
  const Y = n1(y);
  switch (symbol.replace(/-open$/, "")) {
    case "square": return `<rect x="${n1(x - r)}" y="${n1(y - r)}" width="${n1(size)}" height="${n1(size)}"/>`;
    case "diamond": { const d = r * 1.3; return `<path d="M${n1(x - d)} ${Y}L${X} ${n1(y - d)}L${n1(x + d)} ${Y}L${X} ${n1(y + d)}Z"/>`; }
    case "triangle-up": return `<path d="M${n1(x - r * 1.15)} ${n1(y + r * 0.9)}H${n1(x + r * 1.15)}L${X} ${n1(y - r * 1.2)}Z"/>`;
    case "triangle-down": return `<path d="M${n1(x - r * 1.15)} ${n1(y - r * 0.9)}H${n1(x + r * 1.15)}L${X} ${n1(y + r * 1.2)}Z"/>`;
    case "cross": { const a = r * 0.4; return `<path d="M${n1(x - r)} ${n1(y - a)}H${n1(x - a)}V${n1(y - r)}H${n1(x + a)}V${n1(y - a)}H${n1(x + r)}V${n1(y + a)}H${n1(x + a)}V${n1(y + r)}H${n1(x - a)}V${n1(y + a)}H${n1(x - r)}Z"/>`; }
    case "x": { const a = r * 0.9; return `<path d="M${n1(x - a)} ${n1(y - a)}L${n1(x + a)} ${n1(y + a)}M${n1(x + a)} ${n1(y - a)}L${n1(x - a)} ${n1(y + a)}" stroke-width="${n1(Math.max(1.5, size / 5))}" stroke="currentColor"/>`; }
    default: return `<circle cx="${X}" cy="${Y}" r="${n1(r)}"/>`;
  }
}

function drawScatter(t: ScatterTrace, p: Prepared, fontSize: number): string {
  const { xa, ya } = p;
  const mode = scatterMode(t);
  const n = Math.min(t.x?.length ?? 0, t.y?.length ?? 0);
  const pts: ([number, number] | null)[] = [];
  for (let i = 0; i < n; i++) {
    const x = d2l(xa, t.x[i]);
    const y = d2l(ya, t.y[i]);
    pts.push(x === null || y === null ? null : [l2p(xa, x), l2p(ya, y)]);
  }
  const color = t.line?.color ?? (typeof t.marker?.color === "string" ? t.marker.color : undefined) ?? p.color;
  const parts: string[] = [];
  if (mode.includes("lines")) {
    const shape = t.line?.shape ?? "linear";
    let d = "";
    let prev: [number, number] | null = null;
    for (const q of pts) {
      if (!q) { prev = null; continue; }
      if (!prev) d += `M${n1(q[0])} ${n1(q[1])}`;
      else if (shape === "hv") d += `H${n1(q[0])}V${n1(q[1])}`;
      else if (shape === "vh") d += `V${n1(q[1])}H${n1(q[0])}`;
      else if (shape === "hvh") { const m = (prev[0] + q[0]) / 2; d += `H${n1(m)}V${n1(q[1])}H${n1(q[0])}`; }
      else d += `L${n1(q[0])} ${n1(q[1])}`;
      prev = q;
    }
    const w = t.line?.width ?? 2;
    const dash = dashArray(t.line?.dash, w);
    if (d) parts.push(`<path class="line" d="${d}" fill="none" stroke="${colorAttr(color, p.color)}" stroke-width="${n1(w)}" stroke-linejoin="round"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
  }
  if (mode.includes("markers")) {
    const mc = t.marker?.color ?? color;
    const size = t.marker?.size ?? 6;
    const marks: string[] = [];
    pts.forEach((q, i) => {
      if (!q) return;
      const sym = Array.isArray(t.marker?.symbol) ? t.marker?.symbol[i] ?? "circle" : t.marker?.symbol ?? "circle";
      let m = markerPath(String(sym), q[0], q[1], size);
      if (Array.isArray(mc)) m = m.replace(/^<(\w+) /, `<$1 fill="${colorAttr(mc[i], p.color)}" `);
      marks.push(m);
    });
    const base = Array.isArray(mc) ? p.color : mc;
    parts.push(`<g class="points" fill="${colorAttr(base, p.color)}" color="${colorAttr(base, p.color)}">${marks.join("")}</g>`);
  }
  if (mode.includes("text") && t.text) {
    const labels: string[] = [];
    const dy = mode.includes("markers") ? -((t.marker?.size ?? 6) / 2 + 4) : 0;
    pts.forEach((q, i) => {
      const s = t.text?.[i];
      if (q && s) labels.push(textEl(q[0], q[1] + dy, s, { valign: dy ? "bottom" : "middle", anchor: "middle", size: fontSize }));
    });
    parts.push(`<g class="text">${labels.join("")}</g>`);
  }
  return parts.join("");
}

function drawBars(p: Prepared, fontSize: number, textLayer: string[]): string {
  const bars = p.bars ?? [];
  const t = p.trace;
  const posAx = p.horizontal ? p.ya : p.xa;
  const valAx = p.horizontal ? p.xa : p.ya;
  const valPx = (v: number): number => {
    if (valAx.type === "log") {
      if (v <= 0) return l2p(valAx, Math.min(...valAx.r) - 1);
      return l2p(valAx, Math.log10(v));
    }
    return l2p(valAx, v);
  };
  const rects: string[] = [];
  const errs: string[] = [];
  const texts: string[] = [];
  const textpos = t.type === "bar" ? t.textposition ?? "auto" : "none";
  const opacity = t.type === "histogram" && t.opacity !== undefined ? t.opacity : undefined;
  for (const b of bars) {
    const p0 = l2p(posAx, b.pos - b.width / 2);
    const p1 = l2p(posAx, b.pos + b.width / 2);
    const v0 = valPx(b.lo);
    const v1 = valPx(b.hi);
    const [x, y, w, h] = p.horizontal
      ? [Math.min(v0, v1), Math.min(p0, p1), Math.abs(v1 - v0), Math.abs(p1 - p0)]
      : [Math.min(p0, p1), Math.min(v0, v1), Math.abs(p1 - p0), Math.abs(v1 - v0)];
    const fill = b.color !== p.color ? ` fill="${colorAttr(b.color, p.color)}"` : "";
    rects.push(`<rect x="${n1(x)}" y="${n1(y)}" width="${n1(w)}" height="${n1(h)}"${fill}/>`);
    if (b.err !== undefined && b.err > 0) {
      const c = (p0 + p1) / 2;
      const e0 = valPx(b.hi - b.err);
      const e1 = valPx(b.hi + b.err);
      const cap = Math.min(4, Math.abs(p1 - p0) / 2);
      errs.push(p.horizontal
        ? `M${n1(e0)} ${n1(c)}H${n1(e1)}M${n1(e0)} ${n1(c - cap)}v${n1(2 * cap)}M${n1(e1)} ${n1(c - cap)}v${n1(2 * cap)}`
        : `M${n1(c)} ${n1(e0)}V${n1(e1)}M${n1(c - cap)} ${n1(e0)}h${n1(2 * cap)}M${n1(c - cap)} ${n1(e1)}h${n1(2 * cap)}`);
    }
    if (b.text && textpos !== "none") {
      const thick = p.horizontal ? h : w;
      const long = p.horizontal ? w : h;
      const fits = (size: number): boolean => (p.horizontal ? textWidth(b.text ?? "", size) + 6 < long && size < thick : textWidth(b.text ?? "", size) + 4 < thick && size + 4 < long);
      const inside = textpos === "inside" || (textpos === "auto" && fits(fontSize));
      // Outside labels shrink to the bar's thickness, as Plotly's constraintext does.
      let size = fontSize;
      if (!p.horizontal) while (size > 7 && textWidth(b.text, size) > thick) size -= 0.5;
      const neg = b.hi < b.lo;
      if (!p.horizontal) {
        const c = x + w / 2;
        const end = valPx(b.hi);
        const y0 = inside ? (neg ? end - 4 : end + 4) : neg ? end + 3 : end - 3;
        const valign = inside ? (neg ? "bottom" : "top") : neg ? "top" : "bottom";
        texts.push(textEl(c, y0, b.text, { size, anchor: "middle", valign, color: inside ? contrastText(b.color) : undefined }));
      } else {
        const c = y + h / 2;
        const end = valPx(b.hi);
        const right = b.hi >= b.lo;
        const x0 = inside ? (right ? end - 4 : end + 4) : right ? end + 3 : end - 3;
        const anchor = inside === right ? "end" : "start";
        texts.push(textEl(x0, c, b.text, { size, anchor, valign: "middle", color: inside ? contrastText(b.color) : undefined }));
      }
    }
  }
  const op = opacity !== undefined ? ` fill-opacity="${opacity}"` : "";
  let s = `<g class="bars" fill="${colorAttr(p.color, p.color)}"${op} shape-rendering="crispEdges">${rects.join("")}</g>`;
  if (errs.length) s += `<path class="errors" d="${errs.join("")}" stroke="${INK}" stroke-width="1.5" fill="none"/>`;
  // Labels outside the bars must not be clipped by the subplot, so they go to a layer above.
  if (texts.length) textLayer.push(`<g class="bar-text">${texts.join("")}</g>`);
  return s;
}
