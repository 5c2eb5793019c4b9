/**
 * Static SVG rendering of figures (see ../svg.ts): plotly's default look (colorway, font, ink and grid
 * colours), its named colour scales, and colour parsing and interpolation.
 */
import { escapeXml, n1 } from "./text";

export const COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

export const FONT_FAMILY = "'Open Sans', verdana, arial, sans-serif";

export const INK = "#444";

export const GRID = "#eee";

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

export function hex(c: Rgba): string {
  const h = (v: number): string => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");
  return "#" + h(c[0]) + h(c[1]) + h(c[2]);
}

/** Dark or light text, whichever reads on `background` (Plotly's Color.contrast). */
export function contrastText(background: string): string {
  const c = parseColor(background);
  if (!c) return INK;
  const lum = (0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]) / 255;
  return lum > 0.5 ? INK : "#fff";
}

/** A colour attribute value (escaped; falls back when missing). */
export function colorAttr(c: unknown, fallback: string): string {
  return escapeXml(typeof c === "string" && c.trim() !== "" ? c : fallback);
}

export interface ColorScale {
  stops: [number, Rgba][];
  cmin: number;
  cmax: number;
}

export function makeScale(cs: string | [number, string][] | undefined, reverse: boolean | undefined, cmin: number, cmax: number, dflt = "Viridis"): ColorScale {
  let raw: [number, string][] = Array.isArray(cs) && cs.length >= 2 ? cs : SCALES[typeof cs === "string" ? cs : dflt] ?? SCALES[typeof cs === "string" ? matchScaleName(cs) : dflt] ?? SCALES.Viridis;
  if (reverse) raw = raw.map(([t, c]) => [1 - t, c] as [number, string]).reverse();
  const stops = raw.map(([t, c]) => [t, parseColor(c) ?? [0, 0, 0, 1]] as [number, Rgba]).sort((a, b) => a[0] - b[0]);
  return { stops, cmin, cmax };
}

function matchScaleName(name: string): string {
  const k = Object.keys(SCALES).find((s) => s.toLowerCase() === name.toLowerCase());
  return k ?? "Viridis";
}

export function scaleColor(s: ColorScale, v: number): string {
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
export function dashArray(dash: string | undefined, width: number): string | undefined {
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
