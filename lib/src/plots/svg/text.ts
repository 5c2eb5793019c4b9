/**
 * Static SVG rendering of figures (see ../svg.ts): sVG text: coordinates as short numbers, XML escaping,
 * text measurement and layout (multi-line, rotated, anchored), element ids.
 */
import type { Figure } from "../types";

/** A coordinate rounded to 0.1 px, as short text. */
export function n1(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? "0" : String(r);
}

const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/** Escapes text for XML content and attribute values; drops characters XML cannot carry. */
export function escapeXml(s: string): string {
  return String(s).replace(XML_INVALID, "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

/** Plotly's pseudo-HTML in titles and annotations: <br> breaks lines; b/i/em/sup/sub/span tags are dropped (their text kept). */
export function textLines(s: unknown): string[] {
  if (s === undefined || s === null) return [];
  return String(s)
    .split(/<br\s*\/?>/i)
    .map((l) => l.replace(/<\/?(b|i|em|sup|sub|span)(\s[^<>]*)?>/gi, ""));
}

/** Approximate advance width of `s` at font size `size` (no font metrics here: Open Sans / Arial-like widths). */
export function textWidth(s: string, size: number): number {
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

/** Width and height of a PNG data URI (from its IHDR), or undefined. */
export function pngSize(uri: string): { w: number; h: number } | undefined {
  const m = /^data:image\/png;base64,/i.exec(uri);
  if (!m) return undefined;
  const head = Buffer.from(uri.slice(m[0].length, m[0].length + 44), "base64");
  if (head.length < 24 || head.toString("ascii", 12, 16) !== "IHDR") return undefined;
  return { w: head.readUInt32BE(16), h: head.readUInt32BE(20) };
}

/** A short deterministic id prefix (so several inlined SVGs do not share clip-path ids). */
export function idPrefix(fig: Figure): string {
  let h = 0x811c9dc5;
  const s = JSON.stringify(fig.layout ?? {}) + (fig.data ?? []).length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return "f" + (h >>> 0).toString(36);
}

/** Text element(s), one line per <br>, anchored at (x, y) = baseline of the first line unless `valign` says otherwise. */
export function textEl(
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
