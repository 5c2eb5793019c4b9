// The HTML shell shared by the index and the notebook pages: head with local assets, navigation, chart islands.
import { escapeHtml } from "../../lib/src/html";
import { jsonIsland } from "./html";
import { ASSETS_DIR } from "./assets";

/** A Plotly figure as stored in notebooks (application/vnd.plotly.v1+json). */
export interface PlotlyFigure {
  data: unknown[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** Hands out chart ids unique within one page. */
export class ChartIds {
  private n = 0;
  next(): string {
    this.n += 1;
    return `figure-${this.n}`;
  }
}

/** A chart placeholder plus its JSON data island, drawn by the page script. */
export function chartHtml(fig: PlotlyFigure, ids: ChartIds): string {
  const id = ids.next();
  const clean: PlotlyFigure = { data: Array.isArray(fig.data) ? fig.data : [], layout: fig.layout ?? {}, ...(fig.config ? { config: fig.config } : {}) };
  return `<div class="plotly-chart" data-figure="${id}" data-traces="${clean.data.length}"></div>\n<script type="application/json" id="${id}">${jsonIsland(clean)}</script>`;
}

/** Previous / index / next links. */
export interface NavLinks {
  prev?: { href: string; title: string };
  next?: { href: string; title: string };
}

/** A whole page: `hasCharts` decides whether plotly.js is loaded. */
export function pageHtml(opts: { title: string; body: string; nav?: NavLinks; hasCharts: boolean; code?: boolean; head?: string; scripts?: string[] }): string {
  const link = (l: { href: string; title: string } | undefined, label: string): string =>
    l ? `<a href="${escapeHtml(l.href)}">${label}${escapeHtml(l.title)}</a>` : `<span class="none">${label}—</span>`;
  const nav = opts.nav
    ? `<nav class="pager">${link(opts.nav.prev, "← ")}<a href="index.html">Index</a>${link(opts.nav.next, "→ ")}</nav>\n`
    : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<link rel="stylesheet" href="${ASSETS_DIR}/report.css">
${opts.code ? `<link rel="stylesheet" href="${ASSETS_DIR}/highlight.css">\n` : ""}${opts.hasCharts ? `<script src="${ASSETS_DIR}/plotly.min.js"></script>\n` : ""}${opts.head ? `${opts.head}\n` : ""}</head>
<body>
${nav}<main>
${opts.body}
</main>
${nav}${opts.hasCharts ? `<script src="${ASSETS_DIR}/report.js"></script>\n` : ""}${(opts.scripts ?? []).map((s) => `<script src="${escapeHtml(s)}"></script>\n`).join("")}</body>
</html>
`;
}
