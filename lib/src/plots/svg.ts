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
 */
import type { Annotation, Axis, BarTrace, Figure, HeatmapTrace, HistogramTrace, ImageTrace, Layout, ParcoordsTrace, PlotlyTrace, ScatterTrace, Shape } from "./types";

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

// ---------------------------------------------------------------------------------------------------
// Plotly defaults

const COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const FONT_FAMILY = "'Open Sans', verdana, arial, sans-serif";
const INK = "#444";
const GRID = "#eee";

/** Plotly's named colour scales (plotly.js src/components/colorscale/scales.js). */
const SCALES: Record<string, [number, string][]> = {
  Greys: [[0, "rgb(0,0,0)"], [1, "rgb(255,255,255)"]],
  YlGnBu: [[0, "rgb(8,29,88)"], [0.125, "rgb(37,52,148)"], [0.25, "rgb(34,94,168)"], [0.375, "rgb(29,145,192)"], [0.5, "rgb(65,182,196)"], [0.625, "rgb(127,205,187)"], [0.75, "rgb(199,233,180)"], [0.875, "rgb(237,248,217)"], [1, "rgb(255,255,217)"]],
  Greens: [[0, "rgb(0,68,27)"], [0.125, "rgb(0,109,44)"], [0.25, "rgb(35,139,69)"], [0.375, "rgb(65,171,93)"], [0.5, "rgb(116,196,118)"], [0.625, "rgb(161,217,155)"], [0.75, "rgb(199,233,192)"], [0.875, "rgb(229,245,224)"], [1, "rgb(247,252,245)"]],
  YlOrRd: [[0, "rgb(128,0,38)"], [0.125, "rgb(189,0,38)"], [0.25, "rgb(227,26,28)"], [0.375, "rgb(252,78,42)"], [0.5, "rgb(253,141,60)"], [0.625, "rgb(254,178,76)"], [0.75, "rgb(254,217,118)"], [0.875, "rgb(255,237,160)"], [1, "rgb(255,255,204)"]],
  Bluered: [[0, "rgb(0,0,255)"], [1, "rgb(255,0,0)"]],
  RdBu: [[0, "rgb(5,10,172)"], [0.35, "rgb(106,137,247)"], [0.5, "rgb(190,190,190)"], [0.6, "rgb(220,170,132)"], [0.7, "rgb(230,145,90)"], [1, "rgb(178,10,28)"]],
  Reds: [[0, "rgb(220,220,220)"], [0.2, "rgb(245,195,157)"], [0.4, "rgb(245,160,105)"], [1, "rgb(178,10,28)"]],
  Blues: [[0, "rgb(5,10,172)"], [0.35, "rgb(40,60,190)"], [0.5, "rgb(70,100,245)"], [0.6, "rgb(90,120,245)"], [0.7, "rgb(106,137,247)"], [1, "rgb(220,220,220)"]],
  Picnic: [[0, "rgb(0,0,255)"], [0.1, "rgb(51,153,255)"], [0.2, "rgb(102,204,255)"], [0.3, "rgb(153,204,255)"], [0.4, "rgb(204,204,255)"], [0.5, "rgb(255,255,255)"], [0.6, "rgb(255,204,255)"], [0.7, "rgb(255,153,255)"], [0.8, "rgb(255,102,204)"], [0.9, "rgb(255,102,102)"], [1, "rgb(255,0,0)"]],
  Rainbow: [[0, "rgb(150,0,90)"], [0.125, "rgb(0,0,200)"], [0.25, "rgb(0,25,255)"], [0.375, "rgb(0,152,255)"], [0.5, "rgb(44,255,150)"], [0.625, "rgb(151,255,0)"], [0.75, "rgb(255,234,0)"], [0.875, "rgb(255,111,0)"], [1, "rgb(255,0,0)"]],
  Portland: [[0, "rgb(12,51,131)"], [0.25, "rgb(10,136,186)"], [0.5, "rgb(242,211,56)"], [0.75, "rgb(242,143,56)"], [1, "rgb(217,30,30)"]],
  Jet: [[0, "rgb(0,0,131)"], [0.125, "rgb(0,60,170)"], [0.375, "rgb(5,255,255)"], [0.625, "rgb(255,255,0)"], [0.875, "rgb(250,0,0)"], [1, "rgb(128,0,0)"]],
  Hot: [[0, "rgb(0,0,0)"], [0.3, "rgb(230,0,0)"], [0.6, "rgb(255,210,0)"], [1, "rgb(255,255,255)"]],
  Blackbody: [[0, "rgb(0,0,0)"], [0.2, "rgb(230,0,0)"], [0.4, "rgb(230,210,0)"], [0.7, "rgb(255,255,255)"], [1, "rgb(160,200,255)"]],
  Earth: [[0, "rgb(0,0,130)"], [0.1, "rgb(0,180,180)"], [0.2, "rgb(40,210,40)"], [0.4, "rgb(230,230,50)"], [0.6, "rgb(120,70,20)"], [1, "rgb(255,255,255)"]],
  Electric: [[0, "rgb(0,0,0)"], [0.15, "rgb(30,0,100)"], [0.4, "rgb(120,0,100)"], [0.6, "rgb(160,90,0)"], [0.8, "rgb(230,200,0)"], [1, "rgb(255,250,220)"]],
  Viridis: [[0, "#440154"], [0.06274509803921569, "#48186a"], [0.12549019607843137, "#472d7b"], [0.18823529411764706, "#424086"], [0.25098039215686274, "#3b528b"], [0.3137254901960784, "#33638d"], [0.3764705882352941, "#2c728e"], [0.4392156862745098, "#26828e"], [0.5019607843137255, "#21918c"], [0.5647058823529412, "#1fa088"], [0.6274509803921569, "#28ae80"], [0.6901960784313725, "#3fbc73"], [0.7529411764705882, "#5ec962"], [0.8156862745098039, "#84d44b"], [0.8784313725490196, "#addc30"], [0.9411764705882353, "#d8e219"], [1, "#fde725"]],
  Cividis: [[0, "rgb(0,32,76)"], [0.058824, "rgb(0,42,102)"], [0.117647, "rgb(0,52,110)"], [0.176471, "rgb(39,63,108)"], [0.235294, "rgb(60,74,107)"], [0.294118, "rgb(76,85,107)"], [0.352941, "rgb(91,95,109)"], [0.411765, "rgb(104,106,112)"], [0.470588, "rgb(117,117,117)"], [0.529412, "rgb(131,129,120)"], [0.588235, "rgb(146,140,120)"], [0.647059, "rgb(161,152,118)"], [0.705882, "rgb(176,165,114)"], [0.764706, "rgb(192,177,109)"], [0.823529, "rgb(209,191,102)"], [0.882353, "rgb(225,204,92)"], [0.941176, "rgb(243,219,79)"], [1, "rgb(255,233,69)"]],
};

// ---------------------------------------------------------------------------------------------------
// Small helpers: numbers, text, colours

/** A coordinate rounded to 0.1 px, as short text. */
function n1(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for XML content and attribute values; drops characters XML cannot carry. */
function escapeXml(s: string): string {
  return String(s).replace(XML_INVALID, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Plotly's pseudo-HTML in titles and annotations: <br> breaks lines; b/i/em/sup/sub/span tags are dropped (their text kept). */
function textLines(s: unknown): string[] {
  if (s === undefined || s === null) return [];
  return String(s)
    .split(/<br\s*\/?>/i)
    .map((l) => l.replace(/<\/?(b|i|em|sup|sub|span)(\s[^<>]*)?>/gi, ""));
}

/** Approximate advance width of `s` at font size `size` (no font metrics here: Open Sans / Arial-like widths). */
function textWidth(s: string, size: number): number {
  let w = 0;
  for (const ch of s) {
    if ("il.,:;'|!`".includes(ch)) w += 0.27;
    else if ("fjrtI()[]{} -/\\\"".includes(ch)) w += 0.36;
    else if ("mwMW%@".includes(ch)) w += 0.86;
    else if (ch >= "A" && ch <= "Z") w += 0.67;
    else if (ch.charCodeAt(0) > 0x2000 && ch.charCodeAt(0) < 0x2400) w += 0.9; // arrows, ✓, math symbols
    else w += 0.56;
  }
  return w * size;
}

type Rgba = [number, number, number, number];

const NAMED: Record<string, string> = {
  black: "#000000", white: "#ffffff", red: "#ff0000", green: "#008000", blue: "#0000ff", grey: "#808080", gray: "#808080",
  orange: "#ffa500", yellow: "#ffff00", purple: "#800080", lightgrey: "#d3d3d3", lightgray: "#d3d3d3", darkgrey: "#a9a9a9",
  darkgray: "#a9a9a9", silver: "#c0c0c0", navy: "#000080", teal: "#008080", transparent: "rgba(0,0,0,0)",
};

function parseColor(c: string | undefined): Rgba | undefined {
  if (!c) return undefined;
  const s = (NAMED[c.trim().toLowerCase()] ?? c).trim();
  let m = /^#([0-9a-f]{3})$/i.exec(s);
  if (m) return [...m[1].split("").map((h) => parseInt(h + h, 16)), 1] as Rgba;
  m = /^#([0-9a-f]{6})$/i.exec(s);
  if (m) return [parseInt(m[1].slice(0, 2), 16), parseInt(m[1].slice(2, 4), 16), parseInt(m[1].slice(4, 6), 16), 1];
  m = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/i.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])];
  return undefined;
}

function hex(c: Rgba): string {
  const h = (v: number): string => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");
  return "#" + h(c[0]) + h(c[1]) + h(c[2]);
}

/** Dark or light text, whichever reads on `background` (Plotly's Color.contrast). */
function contrastText(background: string): string {
  const c = parseColor(background);
  if (!c) return INK;
  const lum = (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255;
  return lum > 0.5 ? INK : "#fff";
}

/** A colour attribute value (escaped; falls back when missing). */
function colorAttr(c: unknown, fallback: string): string {
  return escapeXml(typeof c === "string" && c.trim() !== "" ? c : fallback);
}

interface ColorScale {
  stops: [number, Rgba][];
  cmin: number;
  cmax: number;
}

function makeScale(cs: string | [number, string][] | undefined, reverse: boolean | undefined, cmin: number, cmax: number, dflt = "Viridis"): ColorScale {
  let raw: [number, string][] = Array.isArray(cs) && cs.length >= 2 ? cs : SCALES[typeof cs === "string" ? cs : dflt] ?? SCALES[typeof cs === "string" ? matchScaleName(cs) : dflt] ?? SCALES.Viridis;
  if (reverse) raw = raw.map(([t, c]) => [1 - t, c] as [number, string]).reverse();
  const stops = raw.map(([t, c]) => [t, parseColor(c) ?? [0, 0, 0, 1]] as [number, Rgba]).sort((a, b) => a[0] - b[0]);
  return { stops, cmin, cmax };
}

function matchScaleName(name: string): string {
  const k = Object.keys(SCALES).find((s) => s.toLowerCase() === name.toLowerCase());
  return k ?? "Viridis";
}

function scaleColor(s: ColorScale, v: number): string {
  const t = s.cmax === s.cmin ? 0.5 : Math.max(0, Math.min(1, (v - s.cmin) / (s.cmax - s.cmin)));
  const st = s.stops;
  if (t <= st[0][0]) return hex(st[0][1]);
  for (let i = 1; i < st.length; i++) {
    if (t <= st[i][0]) {
      const [t0, c0] = st[i - 1];
      const [t1, c1] = st[i];
      const f = t1 === t0 ? 1 : (t - t0) / (t1 - t0);
      return hex([c0[0] + f * (c1[0] - c0[0]), c0[1] + f * (c1[1] - c0[1]), c0[2] + f * (c1[2] - c0[2]), 1]);
    }
  }
  return hex(st[st.length - 1][1]);
}

/** Plotly's dash patterns (scaled with the line width, at least 3 px). */
function dashArray(dash: string | undefined, width: number): string | undefined {
  const d = Math.max(width, 3);
  switch (dash) {
    case "dot": return `${n1(d)},${n1(d)}`;
    case "dash": return `${n1(3 * d)},${n1(3 * d)}`;
    case "longdash": return `${n1(5 * d)},${n1(5 * d)}`;
    case "dashdot": return `${n1(3 * d)},${n1(d)},${n1(d)},${n1(d)}`;
    case "longdashdot": return `${n1(5 * d)},${n1(2 * d)},${n1(d)},${n1(2 * d)}`;
    default: return undefined;
  }
}

/** Width and height of a PNG data URI (from its IHDR), or undefined. */
function pngSize(uri: string): { w: number; h: number } | undefined {
  const m = /^data:image\/png;base64,/i.exec(uri);
  if (!m) return undefined;
  const head = Buffer.from(uri.slice(m[0].length, m[0].length + 44), "base64");
  if (head.length < 24 || head.toString("ascii", 12, 16) !== "IHDR") return undefined;
  return { w: head.readUInt32BE(16), h: head.readUInt32BE(20) };
}

/** A short deterministic id prefix (so several inlined SVGs do not share clip-path ids). */
function idPrefix(fig: Figure): string {
  let h = 0x811c9dc5;
  const s = JSON.stringify(fig.layout ?? {}) + (fig.data ?? []).length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return "f" + (h >>> 0).toString(36);
}

/** Text element(s), one line per <br>, anchored at (x, y) = baseline of the first line unless `valign` says otherwise. */
function textEl(
  x: number,
  y: number,
  text: unknown,
  o: { size?: number; anchor?: "start" | "middle" | "end"; valign?: "top" | "middle" | "bottom" | "baseline"; color?: string; rotate?: number; weight?: string; cls?: string; halo?: boolean } = {},
): string {
  const lines = textLines(text);
  if (lines.length === 0 || lines.every((l) => l === "")) return "";
  const size = o.size ?? 12;
  const lh = size * 1.3;
  // Baseline of the first line for the vertical alignment of the whole block (cap height ≈ 0.7 em).
  let y0 = y;
  const block = (lines.length - 1) * lh;
  if (o.valign === "top") y0 = y + size * 0.8;
  else if (o.valign === "middle") y0 = y - block / 2 + size * 0.35;
  else if (o.valign === "bottom") y0 = y - block - size * 0.25;
  const a: string[] = [`x="${n1(x)}"`, `y="${n1(y0)}"`];
  if (o.cls) a.unshift(`class="${o.cls}"`);
  if (o.anchor && o.anchor !== "start") a.push(`text-anchor="${o.anchor}"`);
  if (o.size !== undefined && o.size !== 12) a.push(`font-size="${n1(size)}"`);
  if (o.color) a.push(`fill="${escapeXml(o.color)}"`);
  if (o.weight) a.push(`font-weight="${o.weight}"`);
  if (o.rotate) a.push(`transform="rotate(${n1(o.rotate)} ${n1(x)} ${n1(y)})"`);
  if (o.halo) a.push(`stroke="#fff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"`);
  if (lines.length === 1) return `<text ${a.join(" ")}>${escapeXml(lines[0])}</text>`;
  const spans = lines.map((l, i) => `<tspan x="${n1(x)}"${i ? ` dy="${n1(lh)}"` : ""}>${escapeXml(l) || " "}</tspan>`).join("");
  return `<text ${a.join(" ")}>${spans}</text>`;
}

// ---------------------------------------------------------------------------------------------------
// Number formatting (ticks, colour bars)

function decimalsFor(step: number): number {
  for (let d = 0; d < 12; d++) {
    const s = step * 10 ** d;
    if (Math.abs(s - Math.round(s)) < 1e-6 * Math.max(1, s)) return d;
  }
  return 12;
}

function stripZeros(s: string): string {
  return s.includes(".") && !s.includes("e") ? s.replace(/\.?0+$/, "") : s;
}

function minus(s: string): string {
  return s.replace(/^-/, "\u2212");
}

/** A subset of d3-format specs (Plotly's tickformat): [,][.N](f|%|e|s|r|d|g). */
function d3Format(v: number, spec: string): string | undefined {
  const m = /^(,)?(?:\.(\d+))?([fersdg%])?$/.exec(spec);
  if (!m) return undefined;
  const comma = Boolean(m[1]);
  const p = m[2] === undefined ? undefined : Number(m[2]);
  const t = m[3];
  let s: string;
  switch (t) {
    case "%": s = (v * 100).toFixed(p ?? 0) + "%"; break;
    case "f": s = v.toFixed(p ?? 6); break;
    case "e": s = v.toExponential(p ?? 6); break;
    case "d": s = Math.round(v).toFixed(0); break;
    case "r": case "g": s = p === undefined ? String(v) : Number(v.toPrecision(Math.max(1, p))).toString(); break;
    case "s": s = siFormat(v, p); break;
    default: s = p === undefined ? String(v) : stripZeros(Number(v.toPrecision(Math.max(1, p))).toString());
  }
  if (comma) s = s.replace(/^(-?)(\d+)/, (_, sign: string, int: string) => sign + int.replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  return minus(s);
}

function siFormat(v: number, p?: number): string {
  const units: [number, string][] = [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"], [1, ""], [1e-3, "m"], [1e-6, "µ"]];
  const a = Math.abs(v);
  if (a === 0) return "0";
  const [f, u] = units.find(([f]) => a >= f) ?? units[units.length - 1];
  return stripZeros(Number((v / f).toPrecision(p ?? 3)).toString()) + u;
}

/** Plotly-like default tick label: decimals from the step, trailing zeros dropped, k/M/G for ≥ 10⁴. */
function formatNumber(v: number, step: number, maxAbs: number, spec?: string): string {
  if (spec) {
    const s = d3Format(v, spec);
    if (s !== undefined) return s;
  }
  if (Math.abs(v) < Math.abs(step) * 1e-8) v = 0;
  const units: [number, string][] = [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  // Plotly's exponentformat "B": SI-like suffixes for large and tiny values.
  if (maxAbs >= 1e4) {
    const [f, u] = units.find(([f]) => maxAbs >= f) ?? [1, ""];
    return minus(stripZeros((v / f).toFixed(decimalsFor(step / f))) + (v === 0 ? "" : u));
  }
  if (maxAbs > 0 && maxAbs < 1e-4) {
    const [f, u] = ([[1e-6, "µ"], [1e-9, "n"], [1e-12, "p"]] as [number, string][]).find(([f]) => maxAbs >= f) ?? [1e-12, "p"];
    return minus(stripZeros((v / f).toFixed(decimalsFor(step / f))) + (v === 0 ? "" : u));
  }
  return minus(stripZeros(v.toFixed(decimalsFor(step))));
}

/** Plotly's automatic tick step: about one tick per 80 px (x) or 40 px (y), rounded to 1/2/5×10ⁿ. */
function niceStep(span: number, lengthPx: number, minPx: number): number {
  const nt = Math.max(4, Math.min(9, lengthPx / minPx)) + 1;
  const rough = Math.abs(span) / nt;
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const base = 10 ** Math.floor(Math.log10(rough));
  const f = rough / base;
  return base * (f <= 1 + 1e-9 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

function linearTicks(r0: number, r1: number, step: number, tick0 = 0): number[] {
  const lo = Math.min(r0, r1);
  const hi = Math.max(r0, r1);
  const out: number[] = [];
  const eps = step * 1e-6;
  const first = tick0 + Math.ceil((lo - tick0 - eps) / step) * step;
  for (let v = first, i = 0; v <= hi + eps && i < 1000; i++, v = first + i * step) out.push(Math.abs(v) < eps ? 0 : v);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Axes

type AxisType = "linear" | "log" | "category";

interface Ax {
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

interface Extent {
  min: number;
  max: number;
  /** 5% padding on both ends (Plotly's "padded"). */
  padded?: boolean;
  /** Extra padding in px (marker radius). */
  ppad?: number;
  /** The range must include zero (bars), unpadded on the zero side. */
  tozero?: boolean;
}

function axisKey(id: string): string {
  return id.charAt(0) + "axis" + id.slice(1);
}

function d2l(ax: Ax, v: unknown): number | null {
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
function l2p(ax: Ax, v: number): number {
  const f = (v - ax.r[0]) / (ax.r[1] - ax.r[0] || 1);
  return ax.letter === "x" ? ax.p0 + f * ax.len : ax.p0 - f * ax.len;
}

function addCat(ax: Ax, v: unknown): void {
  if (v === null || v === undefined) return;
  const s = String(v);
  if (!ax.catIndex.has(s)) {
    ax.catIndex.set(s, ax.cats.length);
    ax.cats.push(s);
  }
}

function isCategorical(v: unknown): boolean {
  return typeof v === "string" && (v.trim() === "" || !Number.isFinite(Number(v)));
}

// ---------------------------------------------------------------------------------------------------
// Traces prepared for drawing

type Cartesian = ScatterTrace | BarTrace | HeatmapTrace | ImageTrace | HistogramTrace;

interface BarMark {
  pos: number; // position (linear units)
  lo: number; // base value
  hi: number; // top value
  width: number;
  text?: string;
  color: string;
  err?: number;
}

interface Prepared {
  trace: Cartesian;
  index: number;
  color: string;
  xa: Ax;
  ya: Ax;
  bars?: BarMark[];
  horizontal?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Main

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

// ---------------------------------------------------------------------------------------------------
// Bars, histograms, extents

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

function prepareBars(prepared: Prepared[], layout: Partial<Layout>): void {
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

function addExtents(p: Prepared): void {
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

function scatterMode(t: ScatterTrace): string {
  return t.mode ?? ((t.x?.length ?? t.y?.length ?? 0) < 20 ? "lines+markers" : "lines");
}

function computeRange(ax: Ax): void {
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
function applyScaleAnchors(axes: Map<string, Ax>): void {
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

// ---------------------------------------------------------------------------------------------------
// Ticks, grid, axis drawing

interface Tick {
  v: number; // linear units
  label: string;
  sup?: string; // exponent (log axes: 10^sup)
  /** A minor label (2× and 5× on log axes), drawn smaller. */
  minor?: boolean;
}

function axisTicks(ax: Ax, fontSize: number): Tick[] {
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

function gridLines(ax: Ax, other: Ax, ticks: Tick[]): string {
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

function drawAxis(ax: Ax, ticks: Tick[], fontSize: number, H: number): string {
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

// ---------------------------------------------------------------------------------------------------
// Trace drawing

function drawTrace(p: Prepared, fontSize: number, textLayer: string[]): string {
  const t = p.trace;
  if (t.type === "scatter") return drawScatter(t, p, fontSize);
  if (t.type === "bar" || t.type === "histogram") return drawBars(p, fontSize, textLayer);
  if (t.type === "heatmap") return drawHeatmap(t, p, fontSize);
  if (t.type === "image") return drawImage(t, p);
  return "";
}

function markerPath(symbol: string, x: number, y: number, size: number): string {
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

function heatmapGrid(t: HeatmapTrace, xa: Ax, ya: Ax): HeatGrid {
  const rows = t.z?.length ?? 0;
  const cols = Math.max(0, ...(t.z ?? []).map((r) => r?.length ?? 0));
  return { xe: edgesOf(xa, t.x, cols), ye: edgesOf(ya, t.y, rows), rows, cols };
}

function zRange(t: HeatmapTrace): [number, number] {
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

function drawHeatmap(t: HeatmapTrace, p: Prepared, fontSize: number): string {
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

function drawImage(t: ImageTrace, p: Prepared): string {
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

// ---------------------------------------------------------------------------------------------------
// Parallel coordinates (simplified)

function drawParcoords(t: ParcoordsTrace, plot: { l: number; t: number; w: number; h: number }, fontSize: number, dflt: string): string {
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

// ---------------------------------------------------------------------------------------------------
// Colour bars

interface ColorbarSpec {
  scale: ColorScale;
  title?: string;
}

function colorbarSpecs(traces: PlotlyTrace[]): ColorbarSpec[] {
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

function colorbarWidth(cb: ColorbarSpec, fontSize: number): number {
  const ticks = colorbarTicks(cb.scale, 300);
  const lw = Math.max(0, ...ticks.map((t) => textWidth(t.label, fontSize)));
  return 10 + 30 + 4 + Math.max(lw, cb.title ? textWidth(cb.title, fontSize * (14 / 12)) - 34 : 0) + 10;
}

function drawColorbar(cb: ColorbarSpec, plot: { l: number; t: number; w: number; h: number }, fontSize: number, gid: string, defs: string[]): string {
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

// ---------------------------------------------------------------------------------------------------
// Legend

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

function legendEntries(traces: PlotlyTrace[], colorOf: (t: PlotlyTrace) => string): LegendItem[] {
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

function legendSize(items: LegendItem[], orientation: "h" | "v", maxWidth: number, fontSize: number): LegendDims {
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

function legendBox(layout: Partial<Layout>, dims: LegendDims, plot: { l: number; t: number; w: number; h: number }, orientation: "h" | "v", cbWidth: number): { x: number; y: number; w: number; h: number } {
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

function drawLegend(items: LegendItem[], dims: LegendDims, box: { x: number; y: number }, _o: "h" | "v", fontSize: number): string {
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

// ---------------------------------------------------------------------------------------------------
// Shapes and annotations

type RefFn = (ref: string | undefined, v: unknown, logUnits?: boolean) => number | null;

function drawShape(s: Shape, refX: RefFn, refY: RefFn): string {
  const x0 = refX(s.xref, s.x0);
  const x1 = refX(s.xref, s.x1);
  const y0 = refY(s.yref, s.y0);
  const y1 = refY(s.yref, s.y1);
  if (x0 === null || x1 === null || y0 === null || y1 === null) return "";
  const w = s.line?.width ?? 2;
  const dash = dashArray(s.line?.dash, w);
  const stroke = `stroke="${colorAttr(s.line?.color, INK)}" stroke-width="${n1(w)}"${dash ? ` stroke-dasharray="${dash}"` : ""}`;
  if (s.type === "rect") return `<rect class="shape" x="${n1(Math.min(x0, x1))}" y="${n1(Math.min(y0, y1))}" width="${n1(Math.abs(x1 - x0))}" height="${n1(Math.abs(y1 - y0))}" fill="none" ${stroke}/>`;
  return `<path class="shape" d="M${n1(x0)} ${n1(y0)}L${n1(x1)} ${n1(y1)}" ${stroke}/>`;
}

function drawAnnotation(a: Annotation, refX: RefFn, refY: RefFn, fontSize: number): string {
  let x = refX(a.xref, a.x, true);
  let y = refY(a.yref, a.y, true);
  if (x === null || y === null || a.text === undefined || a.text === "") return "";
  const size = a.font?.size ?? fontSize;
  let arrow = "";
  if (a.showarrow !== false) {
    // Plotly's default arrow: the text sits 30 px above and 10 px left of the point.
    const tx = x - 10;
    const ty = y - 30;
    arrow = `<path d="M${n1(x)} ${n1(y)}L${n1(tx)} ${n1(ty + size * 0.6)}" stroke="${INK}" stroke-width="1"/>`;
    x = tx;
    y = ty;
  }
  const anchor = a.xanchor === "left" ? "start" : a.xanchor === "right" ? "end" : "middle";
  const ya = a.yanchor === "top" ? "top" : a.yanchor === "bottom" ? "bottom" : "middle";
  // Plotly pads the text box by 1 px plus a 1 px border.
  const yy = ya === "bottom" ? y - 2 : ya === "top" ? y + 2 : y;
  const xx = anchor === "start" ? x + 2 : anchor === "end" ? x - 2 : x;
  return arrow + textEl(xx, yy, a.text, { size, anchor, valign: ya, color: a.font?.color, cls: "annotation" });
}

