/**
 * Subplot geometry shared by the figure builders: axis domains for an r×c grid of panels and the
 * axis names Plotly uses for panel k ("x", "x2", …), so multi-panel figures need no make_subplots.
 */
import type { Annotation, Axis, Layout } from "./types";

/** Plotly's axis id suffix for 0-based panel k: "" for the first, "2", "3", … after. */
export function axisSuffix(k: number): string {
  return k === 0 ? "" : String(k + 1);
}

/** Layout keys and trace references of panel k. */
export function panelAxes(k: number): { xKey: `xaxis${string}`; yKey: `yaxis${string}`; x: string; y: string } {
  const s = axisSuffix(k);
  return { xKey: `xaxis${s}` as `xaxis${string}`, yKey: `yaxis${s}` as `yaxis${string}`, x: `x${s}`, y: `y${s}` };
}

/** Options of {@link gridLayout}. */
export interface GridOptions {
  rows: number;
  columns: number;
  /** Gap between panels as a fraction of the plot width / height. */
  xGap?: number;
  yGap?: number;
}

/** Domains [x0,x1] and [y0,y1] (paper coordinates, y from the top row down) of panel k in a grid. */
export function panelDomain(k: number, g: GridOptions): { x: [number, number]; y: [number, number] } {
  if (!Number.isInteger(g.rows) || !Number.isInteger(g.columns) || g.rows < 1 || g.columns < 1) {
    throw new Error(`grid needs positive integer rows and columns, got ${g.rows}×${g.columns}`);
  }
  const xGap = g.xGap ?? 0.02;
  const yGap = g.yGap ?? 0.06;
  const w = (1 - xGap * (g.columns - 1)) / g.columns;
  const h = (1 - yGap * (g.rows - 1)) / g.rows;
  const r = Math.floor(k / g.columns);
  const c = k % g.columns;
  const x0 = c * (w + xGap);
  const y1 = 1 - r * (h + yGap);
  return { x: [round(x0), round(x0 + w)], y: [round(y1 - h), round(y1)] };
}

function round(v: number): number {
  return Math.round(Math.max(0, Math.min(1, v)) * 1e4) / 1e4;
}

/**
 * Axes (and a title annotation above each panel) for `count` panels laid out in a grid.
 * `axis` customises every panel's x and y axis (e.g. hidden ticks for images).
 */
export function gridLayout(
  count: number,
  g: GridOptions,
  opts: { titles?: readonly string[]; titleColors?: readonly (string | undefined)[]; xAxis?: Axis; yAxis?: Axis; titleSize?: number } = {},
): { axes: Partial<Layout>; annotations: Annotation[] } {
  const axes: Partial<Layout> = {};
  const annotations: Annotation[] = [];
  for (let k = 0; k < count; k++) {
    const d = panelDomain(k, g);
    const a = panelAxes(k);
    axes[a.xKey as "xaxis"] = { ...opts.xAxis, domain: d.x, anchor: a.y };
    axes[a.yKey as "yaxis"] = { ...opts.yAxis, domain: d.y, anchor: a.x };
    const title = opts.titles?.[k];
    if (title !== undefined && title !== "") {
      annotations.push({
        text: title,
        x: (d.x[0] + d.x[1]) / 2,
        y: d.y[1],
        xref: "paper",
        yref: "paper",
        xanchor: "center",
        yanchor: "bottom",
        showarrow: false,
        font: { size: opts.titleSize ?? 11, color: opts.titleColors?.[k] },
      });
    }
  }
  return { axes, annotations };
}
