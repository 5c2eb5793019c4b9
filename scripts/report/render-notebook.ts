// Renders one executed notebook (nbformat 4) as an HTML page body: Markdown, highlighted code, and the
// outputs (streams, errors, Plotly charts, sanitised HTML, images, escaped text).
import { marked } from "marked";
import hljs from "highlight.js/lib/core";
import typescript from "highlight.js/lib/languages/typescript";
import { escapeHtml } from "../../lib/src/html";
import { sanitizeHtml, stripAnsi } from "./html";
import { chartHtml, ChartIds, type PlotlyFigure } from "./page";

hljs.registerLanguage("typescript", typescript);

/** Multiline strings are stored either as a string or as a list of lines. */
type MultiLine = string | string[];

/** One output of a code cell. */
export interface NbOutput {
  output_type: "stream" | "display_data" | "execute_result" | "error" | "update_display_data";
  name?: string;
  text?: MultiLine;
  data?: Record<string, MultiLine | Record<string, unknown>>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

/** One notebook cell. */
export interface NbCell {
  cell_type: "markdown" | "code" | "raw";
  source: MultiLine;
  outputs?: NbOutput[];
  execution_count?: number | null;
}

/** An nbformat 4 notebook (only the parts the report reads). */
export interface Notebook {
  nbformat: number;
  cells: NbCell[];
  metadata?: Record<string, unknown>;
}

/** How the run of a notebook went (from the runner's summary.json). */
export interface NotebookStatus {
  status: string;
  durationSec?: number;
  failure?: { cell: number; codeCell: number; message: string };
}

export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** Joins a multiline field. */
export function joinText(t: MultiLine | undefined): string {
  return t === undefined ? "" : Array.isArray(t) ? t.join("") : t;
}

/** Checks the parts of nbformat 4 the report needs; throws naming `where` otherwise. */
export function parseNotebook(json: string, where: string): Notebook {
  let nb: unknown;
  try {
    nb = JSON.parse(json);
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${(e as Error).message}); is it an .ipynb file?`);
  }
  const o = nb as Partial<Notebook> | null;
  if (!o || typeof o !== "object" || !Array.isArray(o.cells)) throw new Error(`${where}: no "cells" array; expected an nbformat 4 notebook`);
  if (o.nbformat !== 4) throw new Error(`${where}: nbformat ${String(o.nbformat)} is not supported; expected 4`);
  return o as Notebook;
}

/** Highlighted TypeScript source. */
export function renderCode(source: string): string {
  return hljs.highlight(source, { language: "typescript", ignoreIllegals: true }).value;
}

/** Markdown rendered by marked, then sanitised (raw HTML in Markdown is allowed by Markdown itself). */
export function renderMarkdown(source: string): string {
  return sanitizeHtml(marked.parse(source, { async: false, gfm: true }));
}

function isFigure(v: unknown): v is PlotlyFigure {
  return typeof v === "object" && v !== null && Array.isArray((v as PlotlyFigure).data);
}

/** Renders one output; `ids` numbers the charts of the page. */
export function renderOutput(out: NbOutput, ids: ChartIds): string {
  switch (out.output_type) {
    case "stream": {
      const name = out.name === "stderr" ? "stderr" : "stdout";
      return `<pre class="stream ${name}">${escapeHtml(stripAnsi(joinText(out.text)))}</pre>`;
    }
    case "error": {
      const tb = stripAnsi((out.traceback ?? []).join("\n"));
      return `<div class="error"><strong>${escapeHtml(out.ename ?? "Error")}: ${escapeHtml(out.evalue ?? "")}</strong>${tb ? `<pre>${escapeHtml(tb)}</pre>` : ""}</div>`;
    }
    case "display_data":
    case "execute_result":
    case "update_display_data": {
      const data = out.data ?? {};
      const fig = data[PLOTLY_MIME];
      const parsed = typeof fig === "string" ? (JSON.parse(fig) as unknown) : fig;
      // show() sends the chart as Plotly JSON and as offline HTML: the JSON is drawn, the HTML skipped.
      if (isFigure(parsed)) return chartHtml(parsed, ids);
      if (data["text/html"] !== undefined) return `<div class="html-output">${sanitizeHtml(joinText(data["text/html"] as MultiLine))}</div>`;
      for (const mime of ["image/png", "image/jpeg"] as const) {
        const img = data[mime];
        if (typeof img === "string" || Array.isArray(img)) {
          const b64 = joinText(img).replace(/\s+/g, "");
          if (!/^[A-Za-z0-9+/=]*$/.test(b64)) return `<div class="error">invalid base64 in ${mime} output</div>`;
          return `<img class="output-image" alt="output image" src="data:${mime};base64,${b64}">`;
        }
      }
      if (data["text/markdown"] !== undefined) return `<div class="markdown-output">${renderMarkdown(joinText(data["text/markdown"] as MultiLine))}</div>`;
      if (data["text/plain"] !== undefined) return `<pre class="stream text">${escapeHtml(stripAnsi(joinText(data["text/plain"] as MultiLine)))}</pre>`;
      return "";
    }
    default:
      return "";
  }
}

/** The rendered body of a notebook page and whether it has charts. */
export interface RenderedNotebook {
  body: string;
  charts: number;
  title: string;
}

/** Renders a notebook's cells; a failed run gets a banner at the top and a mark on the failing cell. */
export function renderNotebook(nb: Notebook, name: string, status?: NotebookStatus): RenderedNotebook {
  const ids = new ChartIds();
  const parts: string[] = [];
  let title = name;
  let codeIndex = 0;
  let charts = 0;
  const failed = status !== undefined && status.status !== "ok";
  if (status) {
    const dur = status.durationSec !== undefined ? ` in ${status.durationSec.toFixed(1)} s` : "";
    if (failed) {
      const where = status.failure ? ` at code cell ${status.failure.codeCell}` : "";
      parts.push(`<div class="failed" id="run-status"><strong>This notebook FAILED (${escapeHtml(status.status)})${escapeHtml(where)}${escapeHtml(dur)}.</strong>${status.failure ? `<pre>${escapeHtml(stripAnsi(status.failure.message))}</pre>` : ""}</div>`);
    } else {
      parts.push(`<p id="run-status">Run: <span class="status-ok">${escapeHtml(status.status)}</span>${escapeHtml(dur)}</p>`);
    }
  }
  nb.cells.forEach((cell, i) => {
    const src = joinText(cell.source);
    if (cell.cell_type === "markdown") {
      if (i === 0) {
        const h = /^#\s+(.+)$/m.exec(src);
        if (h) title = h[1].trim();
      }
      parts.push(`<div class="cell markdown">${renderMarkdown(src)}</div>`);
    } else if (cell.cell_type === "code") {
      codeIndex += 1;
      const outs = (cell.outputs ?? []).map((o) => {
        const html = renderOutput(o, ids);
        if (html.includes('class="plotly-chart"')) charts += 1;
        return html;
      });
      const failedHere = failed && status?.failure?.codeCell === codeIndex;
      const prompt = `<div class="prompt">[${cell.execution_count ?? " "}]${failedHere ? ' <span class="status-failed">failed here</span>' : ""}</div>`;
      parts.push(
        `<div class="cell code${failedHere ? " failed-cell" : ""}">${prompt}<pre class="source"><code class="hljs language-typescript">${renderCode(src)}</code></pre>` +
          (outs.length ? `<div class="output">${outs.join("\n")}</div>` : "") +
          `</div>`,
      );
    } else {
      parts.push(`<pre class="cell raw">${escapeHtml(src)}</pre>`);
    }
  });
  return { body: parts.join("\n"), charts, title };
}
