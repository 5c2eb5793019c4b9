/**
 * Inline display for notebooks: `show(figure)` emits one Jupyter display_data carrying the Plotly
 * JSON (JupyterLab's plotly extension, VS Code, nteract) and offline HTML (plotly.js from the installed
 * plotly.js-dist-min, sent once per kernel process); outside a tslab kernel it prints a text summary.
 *
 * What users see: in a live JupyterLab / classic Notebook session outputs are trusted, so the HTML's
 * scripts run and every chart is interactive with no extension and no internet. A notebook opened from
 * disk (e.g. executed by nbconvert) is untrusted: JupyterLab strips the scripts, so without the plotly
 * extension each chart shows its fallback line ("Interactive Plotly chart … trust the notebook or re-run
 * it"); File › Trust Notebook (or re-running) renders them. With the extension, or in VS Code, the
 * application/vnd.plotly.v1+json part renders regardless of trust.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Figure, PlotlyTrace } from "./plots/types";
import { queueSocketSends } from "./tslab-guard";

/** MIME type of Plotly figures (JupyterLab plotly extension, VS Code, nteract). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A Jupyter MIME bundle: MIME type → content. */
export type MimeBundle = Record<string, string | object>;

type WriteDisplayData = (data: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void;

/** tslab's process-wide hook (its dist/jupyter module), set while a cell executes. */
interface TslabJupyter {
  lastWriteDisplayData: WriteDisplayData | null;
}

function tslabJupyter(): TslabJupyter | undefined {
  // Look in the module cache first: inside a kernel tslab has loaded it; elsewhere we must not load
  // tslab (it pulls in its bundled TypeScript) just to find out we are not in a kernel.
  for (const key of Object.keys(require.cache)) {
    if (/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) {
      queueSocketSends(); // inside a kernel: make its zeromq sends wait for each other (see tslab-guard)
      return require.cache[key]?.exports as TslabJupyter;
    }
  }
  if (!/tslab/.test(process.argv[1] ?? "")) return undefined;
  try {
    return require("tslab/dist/jupyter") as TslabJupyter;
  } catch {
    return undefined;
  }
}

/** True when running inside a tslab Jupyter kernel that is executing a cell (rich output possible). */
export function inNotebook(): boolean {
  return typeof tslabJupyter()?.lastWriteDisplayData === "function";
}

/**
 * Emits one display_data with all the given MIME types; returns false (and emits nothing) outside a
 * tslab kernel. tslab's own `display.raw` sends one MIME type per output, hence the direct hook.
 */
export function displayBundle(bundle: MimeBundle): boolean {
  const write = tslabJupyter()?.lastWriteDisplayData;
  if (typeof write !== "function") return false;
  write({ data: bundle, metadata: {}, transient: {} }, false);
  return true;
}

let plotlySource: string | undefined;

/** The minified plotly.js of the installed plotly.js-dist-min (read once). */
export function plotlyJsSource(): string {
  if (plotlySource === undefined) {
    let file: string;
    try {
      file = require.resolve("plotly.js-dist-min/plotly.min.js");
    } catch {
      throw new Error("plotly.js-dist-min is not installed; run `npm install` at the repository root");
    }
    plotlySource = fs.readFileSync(file, "utf8");
  }
  return plotlySource;
}

/** Version of the bundled plotly.js. */
export function plotlyJsVersion(): string {
  const pkg = path.join(path.dirname(require.resolve("plotly.js-dist-min/plotly.min.js")), "package.json");
  return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
}

/** `<script>` defining window.Plotly from the installed package, guarded so a page runs it once. */
export function plotlyScriptTag(): string {
  // "</script" cannot occur inside an inline script; escape it defensively (there are none in 4.1.1).
  const js = plotlyJsSource().replace(/<\/script/gi, "<\\/script");
  return `<script type="text/javascript">if (!window.Plotly) {\n${js}\n}</script>`;
}

/** Options of {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** Embed plotly.js (about 4.8 MB) before the chart. */
  includePlotlyJs?: boolean;
  /** Element id of the chart's div (default: a fresh unique id). */
  divId?: string;
}

let divCounter = 0;

function uniqueDivId(): string {
  divCounter++;
  return `fmnist-plot-${process.pid.toString(36)}-${Date.now().toString(36)}-${divCounter}`;
}

/** JSON for embedding inside a <script>: "<", U+2028/9 escaped so titles cannot end the script. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/**
 * Self-contained HTML for one figure: a div (with a fallback line for viewers that do not run scripts)
 * and a script that draws it with window.Plotly, optionally preceded by plotly.js itself.
 */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  checkFigure(fig);
  const id = opts.divId ?? uniqueDivId();
  const h = typeof fig.layout.height === "number" ? fig.layout.height : 450;
  const w = typeof fig.layout.width === "number" ? `${fig.layout.width}px` : "100%";
  const fallback = `Interactive Plotly chart “${escapeHtml(figureTitle(fig))}”: trust the notebook or re-run it (scripts do not run in untrusted outputs).`;
  const script = `(function () {
  var gd = document.getElementById(${JSON.stringify(id)});
  if (!gd) return;
  if (!window.Plotly) { gd.textContent = "plotly.js is not loaded on this page: re-run the notebook from the top (the first chart of a kernel session carries it) or call fm.loadPlotly()."; return; }
  var fig = ${scriptJson(fig)};
  gd.textContent = "";
  window.Plotly.newPlot(gd, fig.data, fig.layout, { responsive: true, displaylogo: false });
})();`;
  return (
    (opts.includePlotlyJs ? plotlyScriptTag() + "\n" : "") +
    `<div id="${id}" class="fmnist-plot" style="width: ${w}; max-width: 100%; height: ${h}px;">${fallback}</div>\n` +
    `<script type="text/javascript">\n${script}\n</script>`
  );
}

function checkFigure(fig: Figure): void {
  if (!fig || !Array.isArray(fig.data) || typeof fig.layout !== "object" || fig.layout === null) {
    throw new Error("show/figureHtml: expected a Plotly figure { data: trace[], layout: {} } (use a builder such as fm.learningCurves)");
  }
}

function figureTitle(fig: Figure): string {
  return fig.layout.title?.text || "untitled figure";
}

/** One-line text description of a figure: title and trace types (what terminals and text viewers show). */
export function figureSummary(fig: Figure): string {
  checkFigure(fig);
  const types = new Map<string, number>();
  for (const t of fig.data as PlotlyTrace[]) types.set(t.type, (types.get(t.type) ?? 0) + 1);
  const traces = [...types].map(([t, n]) => `${n} ${t}`).join(", ") || "no traces";
  const named = fig.data.map((t) => t.name).filter((n): n is string => Boolean(n));
  const names = named.length > 0 && named.length <= 6 ? ` [${named.join(", ")}]` : "";
  return `[figure] ${figureTitle(fig)}: ${traces}${names}`;
}

let plotlySent = false;

/** Options of {@link show}. */
export interface ShowOptions {
  /** Force embedding plotly.js in this output (default: only in the first chart of the kernel process). */
  includePlotlyJs?: boolean;
}

/**
 * Displays a figure inline: in a tslab kernel one output with the Plotly JSON, offline HTML and a
 * text summary; elsewhere (node, tests, scripts) prints the text summary.
 */
export function show(fig: Figure, opts: ShowOptions = {}): void {
  checkFigure(fig);
  const summary = figureSummary(fig);
  if (!inNotebook()) {
    console.log(summary);
    return;
  }
  const include = opts.includePlotlyJs ?? !plotlySent;
  const bundle: MimeBundle = {
    [PLOTLY_MIME]: JSON.parse(JSON.stringify(fig)) as object,
    "text/html": figureHtml(fig, { includePlotlyJs: include }),
    "text/plain": summary,
  };
  if (displayBundle(bundle) && include) plotlySent = true;
}

/**
 * Sends plotly.js to the page again (e.g. after clearing the output of the first chart), so later
 * charts' HTML can draw. Outside a kernel it does nothing.
 */
export function loadPlotly(): void {
  if (displayBundle({ "text/html": plotlyScriptTag(), "text/plain": `(plotly.js ${plotlyJsVersion()} loaded)` })) plotlySent = true;
}

/** Displays HTML (with a plain-text alternative for terminals and text viewers). */
export function showHtml(html: string, text?: string): void {
  const plain = text ?? html.replace(/<[^>]*>/g, "").trim();
  if (!displayBundle({ "text/html": html, "text/plain": plain })) console.log(plain);
}

/** Displays preformatted text (monospace in notebooks too). */
export function showText(text: string): void {
  if (!displayBundle({ "text/plain": text })) console.log(text);
}

/** Displays Markdown (rendered in notebooks, printed as is elsewhere). */
export function showMarkdown(md: string): void {
  if (!displayBundle({ "text/markdown": md, "text/plain": md })) console.log(md);
}
