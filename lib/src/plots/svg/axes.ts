/**
 * Static SVG rendering of figures (see ../svg.ts): cartesian axes: data-to-pixel mapping (linear, log,
 * category), ranges with padding and scale anchors, ticks, grid lines, drawing.
 */
import type { Axis } from "../types";
import { formatNumber, linearTicks, minus, niceStep } from "./format";
import { GRID, INK } from "./style";
import { escapeXml, n1, textEl, textWidth } from "./text";

type AxisType = "linear" | "log" | "category";

export interface Ax {
  id: string; // "x", "x2", "y3", …
  letter: "x" | "y";
  spec: Axis;
  type: AxisType;
  cats: string[];
  catIndex: Map<string, number>;
  /** Range in linear units (log10 for log axes): r[0] at the left / bottom end. */
  r: [number, number];
  /** Pixel start (left for x, bottom for y) and length. */
  p0: number;
  len: number;
  /** Pixel position of the axis line (y pixel for x axes, x pixel for y axes). */
  pos: number;
  anchor?: Ax;
  hasImage: boolean;
  /** Position axis of bars (Plotly draws no grid lines along it by default). */
  barPos: boolean;
  ext: Extent[];
}

export interface Extent {
  min: number;
  max: number;
  /** 5% padding on both ends (Plotly's "padded"). */
  padded?: boolean;
  /** Extra padding in px (marker radius). */
  ppad?: number;
  /** The range must include zero (bars), unpadded on the zero side. */
  tozero?: boolean;
}

export function axisKey(id: string): string {
  return id.charAt(0) + "axis" + id.slice(1);
}

export function d2l(ax: Ax, v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (ax.type === "category") {
    const i = ax.catIndex.get(String(v));
    if (i !== undefined) return i;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }
  const x = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
  if (!Number.isFinite(x)) return null;
  if (ax.type === "log") return x > 0 ? Math.log10(x) : null;
  return x;
}

/** Linear units → pixels. */
export function l2p(ax: Ax, v: number): number {
  const f = (v - ax.r[0]) / (ax.r[1] - ax.r[0] || 1);
  return ax.letter === "x" ? ax.p0 + f * ax.len : ax.p0 - f * ax.len;
}

export function addCat(ax: Ax, v: unknown): void {
  if (v === null || v === undefined) return;
  const s = String(v);
  if (!ax.catIndex.has(s)) {
    ax.catIndex.set(s, ax.cats.length);
    ax.cats.push(s);
  }
}

export function isCategorical(v: unknown): boolean {
  return typeof v === "string" && (v.trim() === "" || !Number.isFinite(Number(v)));
}

export function computeRange(ax: Ax): void {
  const s = ax.spec;
  const reversed = s.autorange === "reversed" || (s.autorange === undefined && s.range === undefined && ax.letter === "y" && ax.hasImage);
  if (s.range && s.autorange !== true && s.autorange !== "reversed" && Number.isFinite(s.range[0]) && Number.isFinite(s.range[1])) {
    // Plotly takes log ranges in log10 units already; category ranges in index units.
    ax.r = [s.range[0], s.range[1]];
    return;
  }
  let lo: number;
  let hi: number;
  if (ax.type === "category") {
    lo = -0.5;
    hi = Math.max(0, ax.cats.length - 1) + 0.5;
    for (const e of ax.ext) { lo = Math.min(lo, e.min); hi = Math.max(hi, e.max); }
  } else if (ax.ext.length === 0) {
    lo = ax.type === "log" ? 0 : -1;
    hi = ax.type === "log" ? 1 : ax.letter === "x" ? 6 : 4;
  } else {
    lo = Math.min(...ax.ext.map((e) => e.min));
    hi = Math.max(...ax.ext.map((e) => e.max));
    const tozero = ax.ext.some((e) => e.tozero);
    if (tozero) { lo = Math.min(lo, 0); hi = Math.max(hi, 0); }
    if (hi === lo) {
      const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= d;
      hi += d;
    }
    const span = hi - lo;
    const padded = ax.ext.some((e) => e.padded);
    const ppad = Math.max(0, ...ax.ext.map((e) => e.ppad ?? 0));
    const frac = (padded ? 0.05 : 0) + (ppad > 0 && ax.len > 4 * ppad ? ppad / ax.len : 0);
    const padLo = tozero && lo === 0 ? 0 : span * frac;
    const padHi = tozero && hi === 0 ? 0 : span * frac;
    lo -= padLo;
    hi += padHi;
  }
  ax.r = reversed ? [hi, lo] : [lo, hi];
}

/** scaleanchor: fixes px-per-unit ratios; `constrain: "domain"` shrinks the axis, else its range grows. */
export function applyScaleAnchors(axes: Map<string, Ax>): void {
  for (const ax of axes.values()) {
    const target = ax.spec.scaleanchor ? axes.get(ax.spec.scaleanchor) : undefined;
    if (!target || target === ax) continue;
    const ratio = ax.spec.scaleratio ?? 1;
    const span = (a: Ax): number => Math.abs(a.r[1] - a.r[0]) || 1;
    const ppuA = ax.len / span(ax);
    const ppuT = target.len / span(target);
    // Want ppuA = ratio * ppuT.
    if (ppuA > ratio * ppuT) shrink(ax, (ratio * ppuT) / ppuA);
    else if (ppuA < ratio * ppuT) shrink(target, ppuA / (ratio * ppuT));
  }
  function shrink(a: Ax, f: number): void {
    if (a.spec.constrain === "domain") {
      const newLen = a.len * f;
      const d = (a.len - newLen) / 2;
      a.p0 = a.letter === "x" ? a.p0 + d : a.p0 - d;
      a.len = newLen;
    } else {
      const mid = (a.r[0] + a.r[1]) / 2;
      const half = (a.r[1] - a.r[0]) / 2 / f;
      a.r = [mid - half, mid + half];
    }
  }
}

export interface Tick {
  v: number; // linear units
  label: string;
  sup?: string; // exponent (log axes: 10^sup)
  /** A minor label (2× and 5× on log axes), drawn smaller. */
  minor?: boolean;
}

export function axisTicks(ax: Ax, fontSize: number): Tick[] {
  const s = ax.spec;
  const [a, b] = [Math.min(...ax.r), Math.max(...ax.r)];
  if (ax.type === "category") {
    // Every category that fits; thin out when labels would be denser than ~1 per 12 px.
    const step = Math.max(1, Math.ceil(ax.cats.length / Math.max(1, ax.len / Math.max(12, fontSize + 2))));
    const out: Tick[] = [];
    for (let i = 0; i < ax.cats.length; i += step) if (i >= a - 1e-9 && i <= b + 1e-9) out.push({ v: i, label: ax.cats[i] });
    return out;
  }
  if (ax.type === "log") {
    const decades = b - a;
    if (decades >= 1 || s.dtick !== undefined) {
      const step = Math.max(1, Math.ceil(decades / Math.max(2, ax.len / (ax.letter === "x" ? 80 : 40))));
      const out: Tick[] = [];
      for (let k = Math.ceil(a - 1e-9); k <= b + 1e-9; k += step) out.push(logTick(k));
      // Few decades: label 2× and 5× too.
      if (step === 1 && ax.len / Math.max(1, decades) > (ax.letter === "x" ? 80 : 60)) {
        for (let k = Math.floor(a); k <= b; k++) for (const m of [2, 5]) {
          const v = k + Math.log10(m);
          if (v >= a - 1e-9 && v <= b + 1e-9) out.push({ v, label: String(m), minor: true });
        }
        out.sort((p, q) => p.v - q.v);
      }
      return out;
    }
    const lo = 10 ** a;
    const hi = 10 ** b;
    const step = niceStep(hi - lo, ax.len, ax.letter === "x" ? 80 : 40);
    const vals = linearTicks(lo, hi, step).filter((v) => v > 0);
    return vals.map((v) => ({ v: Math.log10(v), label: formatNumber(v, step, Math.max(...vals.map(Math.abs)), s.tickformat) }));
  }
  const step = s.dtick && s.dtick > 0 ? s.dtick : niceStep(b - a, ax.len, ax.letter === "x" ? 80 : 40);
  const vals = linearTicks(a, b, step);
  const maxAbs = Math.max(0, ...vals.map(Math.abs));
  return vals.map((v) => ({ v, label: formatNumber(v, step, maxAbs, s.tickformat) }));
}

function logTick(k: number): Tick {
  if (k >= -4 && k <= 5) return { v: k, label: k >= 0 ? String(10 ** k) : (10 ** k).toFixed(-k) };
  return { v: k, label: "10", sup: minus(String(k)) };
}

export function gridLines(ax: Ax, other: Ax, ticks: Tick[]): string {
  const s = ax.spec;
  const parts: string[] = [];
  // Plotly draws grid lines on numeric axes only by default; zero lines where 0 is inside the range.
  const showGrid = s.showgrid ?? (ax.type !== "category" && !ax.barPos);
  const lo = other.letter === "x" ? other.p0 : other.p0 - other.len;
  const hi = other.letter === "x" ? other.p0 + other.len : other.p0;
  const seg = (v: number): string => {
    const p = n1(l2p(ax, v));
    return ax.letter === "x" ? `M${p} ${n1(lo)}V${n1(hi)}` : `M${n1(lo)} ${p}H${n1(hi)}`;
  };
  const [a, b] = [Math.min(...ax.r), Math.max(...ax.r)];
  const zero = (s.zeroline ?? true) && ax.type === "linear" && a <= 0 && b >= 0;
  // Grid lines at ticks that are strictly inside the range (Plotly leaves the edges bare).
  const edge = (b - a) * 1e-3;
  if (showGrid) {
    const d = ticks.filter((t) => t.v > a + edge && t.v < b - edge && !(zero && t.v === 0)).map((t) => seg(t.v)).join("");
    if (d) parts.push(`<path d="${d}" stroke="${GRID}" stroke-width="1" fill="none"/>`);
  }
  if (zero) parts.push(`<path d="${seg(0)}" stroke="${INK}" stroke-width="1" fill="none"/>`);
  return parts.join("");
}

/** Rotated text extents: [horizontal, vertical] of a label of width w and font size `size` at `angle` degrees. */
function rotatedExtent(w: number, size: number, angle: number): [number, number] {
  const r = (Math.abs(angle) * Math.PI) / 180;
  return [w * Math.cos(r) + size * Math.sin(r), w * Math.sin(r) + size * Math.cos(r)];
}

export function drawAxis(ax: Ax, ticks: Tick[], fontSize: number, H: number): string {
  const s = ax.spec;
  const parts: string[] = [];
  const showLabels = s.showticklabels ?? true;
  const ticklen = s.ticks === "outside" || s.ticks === "inside" ? 5 : 0;
  const out = s.ticks === "outside" ? ticklen : 0;
  const [a, b] = [Math.min(...ax.r), Math.max(...ax.r)];
  const inside = ticks.filter((t) => t.v >= a - (b - a) * 1e-6 && t.v <= b + (b - a) * 1e-6);
  if (ticklen) {
    const d = inside.map((t) => {
      const p = n1(l2p(ax, t.v));
      const dir = s.ticks === "outside" ? 1 : -1;
      return ax.letter === "x" ? `M${p} ${n1(ax.pos)}v${dir * ticklen}` : `M${n1(ax.pos)} ${p}h${-dir * ticklen}`;
    }).join("");
    if (d) parts.push(`<path d="${d}" stroke="${INK}" stroke-width="1"/>`);
  }
  let extent = 0; // how far the tick labels reach from the axis line (px)
  if (showLabels && inside.length) {
    const labels: string[] = [];
    const widths = inside.map((t) => textWidth(t.label + (t.sup ?? ""), fontSize));
    let angle = s.tickangle ?? 0;
    if (ax.letter === "x" && s.tickangle === undefined && inside.length > 1) {
      // Plotly's autotickangles [0, 30, 90]: the first angle at which neighbouring labels do not overlap.
      const spacing = Math.abs(l2p(ax, inside[1].v) - l2p(ax, inside[0].v));
      if (Math.max(...widths) + 3 > spacing) angle = spacing * Math.sin(Math.PI / 6) >= fontSize * 1.1 ? -30 : -90;
    }
    for (let i = 0; i < inside.length; i++) {
      const t = inside[i];
      const p = l2p(ax, t.v);
      const content = t.sup
        ? `${escapeXml(t.label)}<tspan dy="-0.5em" font-size="70%">${escapeXml(t.sup)}</tspan>`
        : t.minor
          ? `<tspan font-size="75%">${escapeXml(t.label)}</tspan>`
          : escapeXml(t.label);
      if (ax.letter === "x") {
        const y0 = ax.pos + out + 3;
        if (angle === 0) {
          labels.push(`<text x="${n1(p)}" y="${n1(y0 + fontSize * 0.85)}">${content}</text>`);
          extent = Math.max(extent, out + 3 + fontSize * 1.1);
        } else {
          // Rotated about the label's top-centre; anchored at the end for negative angles (text rises to the right).
          const yy = y0 + fontSize * 0.6;
          const anchor = Math.abs(angle) === 90 ? "end" : angle < 0 ? "end" : "start";
          labels.push(`<text x="${n1(p)}" y="${n1(yy)}" text-anchor="${anchor}" transform="rotate(${n1(angle)} ${n1(p)} ${n1(yy - fontSize * 0.35)})">${content}</text>`);
          extent = Math.max(extent, out + 3 + rotatedExtent(widths[i], fontSize * 0.75, angle)[1]);
        }
      } else {
        const x0 = ax.pos - out - 3;
        labels.push(`<text x="${n1(x0)}" y="${n1(p + fontSize * 0.35)}">${content}</text>`);
        extent = Math.max(extent, out + 3 + widths[i]);
      }
    }
    const anchorAttr = ax.letter === "x" ? ` text-anchor="middle"` : ` text-anchor="end"`;
    parts.push(`<g class="ticks ${ax.id}"${anchorAttr}>${labels.join("")}</g>`);
  }
  const title = s.title?.text;
  if (title) {
    const size = fontSize * (14 / 12);
    const mid = ax.letter === "x" ? ax.p0 + ax.len / 2 : ax.p0 - ax.len / 2;
    if (ax.letter === "x") {
      const y = Math.min(H - size * 0.3 - 2, ax.pos + extent + 4 + size * 0.85);
      parts.push(textEl(mid, y, title, { size, anchor: "middle", cls: "axis-title" }));
    } else {
      const x = Math.max(size + 1, ax.pos - extent - 8);
      parts.push(textEl(x, mid, title, { size, anchor: "middle", rotate: -90, cls: "axis-title" }));
    }
  }
  return parts.join("");
}
