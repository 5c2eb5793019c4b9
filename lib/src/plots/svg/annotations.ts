/**
 * Static SVG rendering of figures (see ../svg.ts): shapes (lines, rectangles) and annotations (text,
 * arrows) in paper or data coordinates.
 */
import type { Annotation, Shape } from "../types";
import { colorAttr, dashArray, INK } from "./style";
import { n1, textEl } from "./text";

type RefFn = (ref: string | undefined, v: unknown, logUnits?: boolean) => number | null;

export function drawShape(s: Shape, refX: RefFn, refY: RefFn): string {
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

export function drawAnnotation(a: Annotation, refX: RefFn, refY: RefFn, fontSize: number): string {
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
