/**
 * Minimal typed subset of Plotly's figure schema: just the traces and layout fields our builders use,
 * so the library needs no @types/plotly and the notebooks get completion on figure specs.
 */

/** A number matrix as Plotly takes it: rows of values (null = gap). */
export type Matrix = (number | null)[][];

/** Trace fields every trace type shares. */
export interface TraceBase {
  name?: string;
  showlegend?: boolean;
  legendgroup?: string;
  xaxis?: string;
  yaxis?: string;
  hoverinfo?: string;
  hovertemplate?: string;
  visible?: boolean | "legendonly";
}

/** Heatmap (images, confusion matrices, distance matrices). */
export interface HeatmapTrace extends TraceBase {
  type: "heatmap";
  z: Matrix;
  x?: (string | number)[];
  y?: (string | number)[];
  colorscale?: string | [number, string][];
  reversescale?: boolean;
  zmin?: number;
  zmax?: number;
  showscale?: boolean;
  text?: string[][];
  texttemplate?: string;
  colorbar?: { title?: { text: string }; len?: number; y?: number; x?: number };
}

/** A raster image (we pass a PNG data URI as `source`: far smaller in a notebook than a z matrix). */
export interface ImageTrace extends TraceBase {
  type: "image";
  source: string;
  /** Image size in data units, so hover coordinates are pixel rows/columns. */
  dx?: number;
  dy?: number;
}

/** Bar chart. */
export interface BarTrace extends TraceBase {
  type: "bar";
  x: (string | number)[];
  y: number[];
  orientation?: "v" | "h";
  text?: string[];
  textposition?: "auto" | "inside" | "outside" | "none";
  marker?: { color?: string | string[] };
  error_y?: { type: "data"; array: number[]; visible: boolean };
}

/** Histogram (counted in the browser from raw values) — we pre-bin instead, see {@link BarTrace}. */
export interface HistogramTrace extends TraceBase {
  type: "histogram";
  x: number[];
  nbinsx?: number;
  histnorm?: "" | "percent" | "probability" | "density" | "probability density";
  opacity?: number;
}

/** Line / marker plot. */
export interface ScatterTrace extends TraceBase {
  type: "scatter";
  x: (number | string)[];
  y: (number | null)[];
  mode?: "lines" | "markers" | "lines+markers" | "text" | "markers+text";
  line?: { color?: string; dash?: "solid" | "dash" | "dot" | "dashdot"; width?: number; shape?: "linear" | "hv" | "vh" | "hvh" };
  marker?: { color?: string | string[]; symbol?: string | string[]; size?: number };
  text?: string[];
}

/** One dimension (axis) of a parallel-coordinates trace. */
export interface ParcoordsDimension {
  label: string;
  values: number[];
  range?: [number, number];
  tickvals?: number[];
  ticktext?: string[];
}

/** Parallel coordinates (hyperparameter searches). */
export interface ParcoordsTrace extends TraceBase {
  type: "parcoords";
  dimensions: ParcoordsDimension[];
  line?: { color: number[]; colorscale?: string; showscale?: boolean; cmin?: number; cmax?: number; colorbar?: { title?: { text: string } } };
}

/** Any trace our builders produce. */
export type PlotlyTrace = HeatmapTrace | ImageTrace | BarTrace | HistogramTrace | ScatterTrace | ParcoordsTrace;

/** Axis settings (xaxis, xaxis2, yaxis, …). */
export interface Axis {
  title?: { text: string };
  domain?: [number, number];
  anchor?: string;
  range?: [number, number];
  autorange?: boolean | "reversed";
  showticklabels?: boolean;
  ticks?: "" | "outside" | "inside";
  showgrid?: boolean;
  zeroline?: boolean;
  scaleanchor?: string;
  scaleratio?: number;
  constrain?: "range" | "domain";
  tickformat?: string;
  tickangle?: number;
  type?: "linear" | "log" | "category";
  dtick?: number;
  matches?: string;
}

/** A text annotation (subplot titles, cell values). */
export interface Annotation {
  text: string;
  x: number | string;
  y: number | string;
  xref?: string;
  yref?: string;
  xanchor?: "auto" | "left" | "center" | "right";
  yanchor?: "auto" | "top" | "middle" | "bottom";
  showarrow?: boolean;
  font?: { size?: number; color?: string };
}

/** A line or rectangle drawn on the plot (reference markers). */
export interface Shape {
  type: "line" | "rect";
  x0: number | string;
  x1: number | string;
  y0: number;
  y1: number;
  xref?: string;
  yref?: string;
  line?: { color?: string; width?: number; dash?: "solid" | "dash" | "dot" };
}

/**
 * Figure layout. Subplot axes (xaxis2, yaxis7, …) are string-keyed, so the type is an index signature
 * over the named fields' union; the named fields keep their precise types.
 */
export interface Layout {
  title: { text: string; font?: { size?: number } };
  width: number;
  height: number;
  margin: { l?: number; r?: number; t?: number; b?: number };
  barmode: "group" | "stack" | "overlay" | "relative";
  bargap: number;
  showlegend: boolean;
  legend: { orientation?: "h" | "v"; x?: number; y?: number; xanchor?: "left" | "center" | "right"; yanchor?: "top" | "middle" | "bottom" };
  annotations: Annotation[];
  shapes: Shape[];
  font: { size?: number; family?: string };
  hovermode: "closest" | "x" | "y" | "x unified" | false;
  plot_bgcolor: string;
  xaxis: Axis;
  yaxis: Axis;
  [axis: `xaxis${number}` | `yaxis${number}`]: Axis;
}

/** A plain Plotly figure: what `Plotly.newPlot(div, data, layout)` takes, and what {@link show} displays. */
export interface Figure {
  data: PlotlyTrace[];
  layout: Partial<Layout>;
}
