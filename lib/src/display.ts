/**
 * Inline display for notebooks: `show(figure)` emits one Jupyter display_data carrying the Plotly
 * JSON and HTML with a static SVG image of the chart plus a script that draws the interactive chart;
 * outside a tslab kernel it prints a text summary.
 *
 * Why this design: every chart output stands on its own. None carries plotly.js (4.8 MB), so a saved
 * notebook stays small and re-running, reordering or clearing cells cannot strand the other charts.
 * - Trusted output (a live session, or a notebook the user saved): the script fetches plotly.js once
 *   per page from the Jupyter server's /files/ route (this project's node_modules; offline) and swaps
 *   the static image for the interactive chart.
 * - Untrusted output (a notebook opened from disk, nbconvert HTML) or no reachable plotly.js: the
 *   static SVG image shows; JupyterLab's sanitizer keeps data-URI images.
 * - JupyterLab with the Plotly extension, VS Code, nteract: the application/vnd.plotly.v1+json part
 *   renders interactively regardless of trust.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { escapeHtml } from "./html";
import { figureSvgDataUri } from "./plots/svg";
import type { Figure, PlotlyTrace } from "./plots/types";
import { tslabKernel, type TslabJupyter } from "./tslab-guard";

/** MIME type of Plotly figures (JupyterLab plotly extension, VS Code, nteract). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A Jupyter MIME bundle: MIME type → content. */
export type MimeBundle = Record<string, string | object>;

function tslabJupyter(): TslabJupyter | undefined {
  const kernel = tslabKernel();
  if (kernel) return kernel;
  // A script started through tslab's own entry point (rare) has not loaded its jupyter module yet.
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

/** One display entry that later calls rewrite in place (Jupyter's display_id), e.g. a progress bar. */
export interface UpdatableDisplay {
  /** Shows `html` in the entry (replacing what it showed); false when no cell can receive it (the cell is gone). */
  html(html: string): boolean;
}

/**
 * A display entry in the executing cell that each {@link UpdatableDisplay.html} call overwrites, sent
 * through the same tslab hook as {@link displayBundle}; undefined outside a tslab kernel.
 */
export function updatableDisplay(): UpdatableDisplay | undefined {
  if (!inNotebook()) return undefined;
  const id = randomBytes(8).toString("hex");
  let update = false;
  return {
    html(html: string): boolean {
      const write = tslabJupyter()?.lastWriteDisplayData;
      if (typeof write !== "function") return false;
      write({ data: { "text/html": html }, metadata: {}, transient: { display_id: id } }, update);
      update = true;
      return true;
    },
  };
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

/** Where a page can fetch plotly.js from: the installed file, seen from the kernel. */
export interface PlotlyLocation {
  /** Absolute path of plotly.min.js. */
  abs: string;
  /** The same path relative to the kernel's working directory (the notebook's folder). */
  rel: string;
  /** The user's home folder (Jupyter's serverRoot may start with "~"). */
  home: string;
}

/** Where the installed plotly.js is, relative to this process's working directory. */
let located: { cwd: string; at: PlotlyLocation } | undefined;

export function plotlyLocation(): PlotlyLocation {
  // Once per working directory: every chart asks, and the answer only changes if the kernel's folder does.
  const cwd = process.cwd();
  if (located?.cwd === cwd) return located.at;
  let file: string;
  try {
    file = fs.realpathSync(require.resolve("plotly.js-dist-min/plotly.min.js"));
  } catch {
    throw new Error("plotly.js-dist-min is not installed; run `npm install` at the repository root");
  }
  const posix = (p: string): string => p.split(path.sep).join("/");
  located = { cwd, at: { abs: posix(file), rel: posix(path.relative(cwd, file)), home: posix(os.homedir()) } };
  return located.at;
}

/** Options of {@link figureHtml}. */
export interface FigureHtmlOptions {
  /** Embed plotly.js (about 4.8 MB) before the chart. */
  includePlotlyJs?: boolean;
  /** Element id of the chart's div (default: a fresh unique id). */
  divId?: string;
  /** Put a static SVG rendering of the figure in the div, shown until (or unless) plotly.js draws (default true). */
  staticImage?: boolean;
  /** Where the page may fetch plotly.js from when it has none (default: {@link plotlyLocation}; null: never fetch). */
  plotlyFrom?: PlotlyLocation | null;
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

/**
 * Page-side loader (ES5, runs in every front end): one promise per page for window.Plotly, fetched
 * from the Jupyter server's /files/ route. The file's URL is found from JupyterLab's / Notebook 7's
 * page config (serverRoot), classic Notebook's data-notebook-path, or the notebook path in the page
 * URL; each candidate is tried in turn. Rejects when none loads (the static image then stays).
 */
const PLOTLY_LOADER = `function (src) {
  var c = {};
  try { var el = document.getElementById("jupyter-config-data"); if (el) c = JSON.parse(el.textContent || "{}"); } catch (e) {}
  var base = c.baseUrl || document.body.getAttribute("data-base-url") || "/";
  if (base.charAt(base.length - 1) !== "/") base += "/";
  function files(parts) {
    var out = [];
    for (var i = 0; i < parts.length; i++) { var p = parts[i]; if (p === "" || p === ".") continue; if (p === "..") out.pop(); else out.push(encodeURIComponent(p)); }
    return base + "files/" + out.join("/");
  }
  var urls = [];
  if (typeof c.serverRoot === "string") {
    var root = c.serverRoot.replace(/^~(?=\\/|$)/, src.home).replace(/\\/+$/, "");
    if (src.abs.indexOf(root + "/") === 0) urls.push(files(src.abs.slice(root.length + 1).split("/")));
  }
  var nb = document.body.getAttribute("data-notebook-path");
  if (!nb) { var m = location.pathname.match(/\\/(?:lab\\/(?:workspaces\\/[^\\/]+\\/)?tree|notebooks)\\/(.+)$/); if (m) nb = decodeURIComponent(m[1]); }
  if (nb) { var u = files(nb.split("/").slice(0, -1).concat(src.rel.split("/"))); if (urls.indexOf(u) < 0) urls.push(u); }
  function load(url) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = url;
      s.onload = function () { if (window.Plotly) resolve(window.Plotly); else reject(new Error(url)); };
      s.onerror = function () { s.parentNode && s.parentNode.removeChild(s); reject(new Error(url)); };
      document.head.appendChild(s);
    });
  }
  return urls.reduce(function (p, url) { return p.catch(function () { return load(url); }); }, Promise.reject(new Error("no plotly.js location")));
}`;

/**
 * Self-contained HTML for one figure: a div holding a static SVG image of the chart (what untrusted
 * notebooks, viewers without scripts and offline exports show) and a script that replaces it with the
 * interactive Plotly chart once window.Plotly is available: already on the page, embedded with
 * `includePlotlyJs`, or fetched once per page from the Jupyter server (see {@link PLOTLY_LOADER}).
 */
export function figureHtml(fig: Figure, opts: FigureHtmlOptions = {}): string {
  checkFigure(fig);
  const id = opts.divId ?? uniqueDivId();
  const h = typeof fig.layout.height === "number" ? fig.layout.height : 450;
  const maxW = typeof fig.layout.width === "number" ? `${fig.layout.width}px` : "100%";
  const title = escapeHtml(figureTitle(fig));
  const inner = opts.staticImage === false
    ? `Interactive Plotly chart “${title}”: trust the notebook or re-run it (scripts do not run in untrusted outputs).`
    : `<img src="${figureSvgDataUri(fig)}" alt="${title} (static image; the interactive chart needs plotly.js)" style="display: block; width: 100%; max-width: ${maxW}; height: auto;">`;
  const from = opts.plotlyFrom === undefined ? plotlyLocation() : opts.plotlyFrom;
  const script = `(function () {
  var gd = document.getElementById(${JSON.stringify(id)});
  if (!gd) return;
  var fig = ${scriptJson(fig)};
  function draw(P) {
    // As wide as the output area, up to the figure's own width: autosized, and redrawn when the area resizes.
    var layout = {};
    for (var k in fig.layout) layout[k] = fig.layout[k];
    if (typeof layout.width === "number") gd.style.maxWidth = layout.width + "px";
    delete layout.width;
    layout.autosize = true;
    gd.textContent = "";
    gd.style.height = "${h}px";
    P.newPlot(gd, fig.data, layout, { responsive: true, displaylogo: false });
  }
  if (window.Plotly) { draw(window.Plotly); return; }
  ${from ? `if (!window.fmnistPlotly) window.fmnistPlotly = (${PLOTLY_LOADER})(${scriptJson(from)});
  window.fmnistPlotly.then(draw, function () {});` : ""}
})();`;
  return (
    (opts.includePlotlyJs ? plotlyScriptTag() + "\n" : "") +
    `<div id="${id}" class="fmnist-plot" style="width: 100%; max-width: 100%;">${inner}</div>\n` +
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

/** Options of {@link show}. */
export interface ShowOptions {
  /** Embed plotly.js (4.8 MB) in this output, for pages that cannot fetch it from the Jupyter server (default false). */
  includePlotlyJs?: boolean;
}

/**
 * Displays a figure inline: in a tslab kernel one output with the Plotly JSON (JupyterLab's Plotly
 * extension, VS Code, nteract draw it), HTML holding a static SVG image that a script turns into the
 * interactive chart (plotly.js fetched from the Jupyter server, once per page), and a text summary;
 * elsewhere (node, tests, scripts) prints the text summary. No output depends on another, so any cell
 * can be re-run, and a saved notebook stays small (no plotly.js inside).
 */
export function show(fig: Figure, opts: ShowOptions = {}): void {
  checkFigure(fig);
  const summary = figureSummary(fig);
  if (!inNotebook()) {
    console.log(summary);
    return;
  }
  displayBundle({
    [PLOTLY_MIME]: JSON.parse(JSON.stringify(fig)) as object,
    "text/html": figureHtml(fig, { includePlotlyJs: opts.includePlotlyJs === true }),
    "text/plain": summary,
  });
}

/**
 * Sends plotly.js itself to the page (4.8 MB in this output), for a front end that cannot fetch it
 * from the Jupyter server (for example JupyterLab started in a folder that does not contain this
 * project's node_modules). Outside a kernel it does nothing.
 */
export function loadPlotly(): void {
  displayBundle({ "text/html": plotlyScriptTag(), "text/plain": `(plotly.js ${plotlyJsVersion()} loaded)` });
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
