// Static files of the report folder: plotly.js and the highlight.js theme copied from node_modules,
// the stylesheet, and the one page script that draws charts from JSON data islands.
import * as fs from "node:fs";
import * as path from "node:path";

/** Folder (inside the report) holding the shared assets. */
export const ASSETS_DIR = "assets";

/** The only script of the pages: parses each chart's JSON island and draws it (nothing from outputs runs). */
export const PAGE_SCRIPT = `// Draws every chart of the page from its JSON data island.
(function () {
  var charts = document.querySelectorAll("div.plotly-chart[data-figure]");
  for (var i = 0; i < charts.length; i++) {
    var gd = charts[i];
    var island = document.getElementById(gd.getAttribute("data-figure"));
    if (!window.Plotly) { gd.textContent = "plotly.js did not load (assets/plotly.min.js missing?)"; continue; }
    try {
      var fig = JSON.parse(island.textContent);
      var layout = Object.assign({ autosize: true }, fig.layout || {});
      window.Plotly.newPlot(gd, fig.data || [], layout, Object.assign({ responsive: true, displaylogo: false }, fig.config || {}));
    } catch (e) {
      gd.textContent = "chart could not be drawn: " + e;
    }
  }
})();
`;

/** The report stylesheet. */
export const STYLE_CSS = `body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 0; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
nav.pager { display: flex; justify-content: space-between; gap: 1rem; padding: .6rem 1.5rem; background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
nav.pager a { color: #0969da; text-decoration: none; } nav.pager span.none { color: #8c959f; }
h1 { font-size: 1.7rem; } h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
.cell { margin: .8rem 0; } .cell.code pre.source { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .8rem; overflow-x: auto; margin: 0; }
pre.source code.hljs { padding: 0; background: transparent; }
.prompt { color: #8c959f; font: 12px monospace; }
.output { margin: .3rem 0 0 1rem; overflow-x: auto; }
pre.stream { margin: 0; padding: .3rem .6rem; white-space: pre-wrap; font-size: 13px; }
pre.stderr { background: #fff8e5; }
.error, .failed { background: #ffebe9; border: 1px solid #cf222e; border-radius: 6px; padding: .5rem .8rem; color: #82071e; }
.error pre { white-space: pre-wrap; margin: .3rem 0 0; }
.status-ok { color: #1a7f37; font-weight: 600; } .status-failed, .status-error, .status-timeout { color: #cf222e; font-weight: 600; }
table { border-collapse: collapse; margin: .5rem 0; font-size: 14px; }
th, td { border: 1px solid #d0d7de; padding: .25rem .6rem; text-align: right; } th { background: #f6f8fa; }
td.text, th.text { text-align: left; }
.plotly-chart { width: 100%; min-height: 420px; }
img.output-image { max-width: 100%; image-rendering: pixelated; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; } dl.meta dt { font-weight: 600; } dl.meta dd { margin: 0; }
`;

/** Copies plotly.min.js and the highlight.js theme into `<dir>/assets` and writes the CSS and page script. */
export function writeAssets(dir: string): void {
  const assets = path.join(dir, ASSETS_DIR);
  fs.mkdirSync(assets, { recursive: true });
  let plotly: string;
  let theme: string;
  try {
    plotly = require.resolve("plotly.js-dist-min/plotly.min.js");
    theme = require.resolve("highlight.js/styles/github.min.css");
  } catch (e) {
    throw new Error(`report assets missing (${(e as Error).message}): run \`npm install\` at the repository root`);
  }
  fs.copyFileSync(plotly, path.join(assets, "plotly.min.js"));
  fs.copyFileSync(theme, path.join(assets, "highlight.css"));
  fs.writeFileSync(path.join(assets, "report.css"), STYLE_CSS);
  fs.writeFileSync(path.join(assets, "report.js"), PAGE_SCRIPT);
}
