// Headless Chromium (Debian's /usr/bin/chromium via playwright-core) renders the HTML that show()
// emits: each chart draws an SVG with the expected traces, no console errors, no network request.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromiumSkip, launchOffline } from "./helpers/chromium";
import { figureHtml } from "../lib/src/display";
import { classDistribution, confusionHeatmap, imageGrid, learningCurves, type Figure } from "../lib/src/plots/index";

/** The few DOM members the page functions use (the project compiles without the DOM lib). */
interface PageDom {
  document: { querySelector(sel: string): (PageElement & { data?: unknown[]; _fullData?: unknown[] }) | null; querySelectorAll(sel: string): { length: number } };
}
interface PageElement {
  querySelectorAll(sel: string): { length: number };
}
const SCREENSHOTS = path.join(__dirname, "..", "artifacts", "screenshots");

/** Deterministic test images: a dark square on white whose position depends on k. */
function squareImage(k: number): Uint8Array {
  const img = new Uint8Array(28 * 28);
  for (let r = 4 + k; r < 14 + k; r++) for (let c = 6 + 2 * k; c < 16 + 2 * k; c++) img[r * 28 + c] = 255;
  return img;
}

const figures: { fig: Figure; layer: string; traces: number }[] = [
  { fig: learningCurves({ loss: [0.9, 0.5, 0.4], val_loss: [1, 0.7, 0.65], acc: [0.7, 0.82, 0.86], val_acc: [0.66, 0.78, 0.8] }, { title: "Learning curves" }), layer: ".scatterlayer .trace", traces: 4 },
  { fig: classDistribution({ train: [10, 12, 9], validation: [3, 3, 3], test: [5, 4, 6] }, { classNames: ["A", "B", "C"] }), layer: ".barlayer .trace", traces: 3 },
  { fig: confusionHeatmap([[8, 2, 0], [1, 7, 2], [0, 1, 9]], { classNames: ["A", "B", "C"] }), layer: ".heatmaplayer .hm", traces: 2 },
  { fig: imageGrid({ images: [0, 1, 2, 3].map(squareImage), titles: ["one", "two", "three", "four"], columns: 4, title: "Image grid (PNG)" }), layer: ".imagelayer image", traces: 4 },
  { fig: imageGrid({ images: [0, 1].map(squareImage), titles: ["one", "two"], columns: 2, title: "Image grid (heatmap)", encoding: "heatmap" }), layer: ".heatmaplayer .hm", traces: 2 },
];

test("show() HTML renders every chart offline in headless Chromium", { skip: chromiumSkip() }, async () => {
  const browser = await launchOffline();
  try {
    const page = await browser.newPage("show()");
    // As in a notebook: the first chart carries plotly.js, the later ones only their div + script.
    const body = figures.map((f, i) => figureHtml(f.fig, { divId: `chart${i}`, includePlotlyJs: i === 0 })).join("\n<hr>\n");
    await page.setContent(`<!doctype html><html><head><meta charset="utf-8"></head><body>${body}</body></html>`, { waitUntil: "load" });
    for (let i = 0; i < figures.length; i++) {
      const sel = `#chart${i}`;
      await page.waitForSelector(`${sel} .main-svg`, { timeout: 20_000 });
      const got = await page.evaluate(
        ({ sel, layer }) => {
          // Plotly stores its input and resolved traces on the graph div.
          const gd = (globalThis as unknown as PageDom).document.querySelector(sel);
          if (!gd) return { data: -1, full: -1, drawn: -1, svgs: 0 };
          return { data: gd.data?.length ?? -1, full: gd._fullData?.length ?? -1, drawn: gd.querySelectorAll(layer).length, svgs: gd.querySelectorAll("svg.main-svg").length };
        },
        { sel, layer: figures[i].layer },
      );
      assert.equal(got.data, figures[i].traces, `chart ${i}: gd.data`);
      assert.equal(got.full, figures[i].traces, `chart ${i}: gd._fullData`);
      assert.equal(got.drawn, figures[i].traces, `chart ${i}: drawn ${figures[i].layer}`);
      assert.ok(got.svgs >= 1, `chart ${i}: main svg`);
    }
    // The heatmap image grid is rasterised into <image> elements too.
    const images = await page.evaluate(() => (globalThis as unknown as PageDom).document.querySelectorAll("#chart4 .hm image").length);
    assert.equal(images, 2);
    assert.deepEqual(browser.errors, [], "console errors");
    assert.deepEqual(browser.remote, [], "requests leaving the machine");
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, "browser-render.png"), fullPage: true });
  } finally {
    await browser.close();
  }
});

/**
 * A stand-in for the Jupyter server's /files/ route on 127.0.0.1 (serving `root`), plus pages whose URLs
 * and page config look like JupyterLab's and classic Notebook's.
 */
async function fakeJupyter(root: string, pages: Record<string, string>): Promise<{ url: string; served: string[]; close(): Promise<void> }> {
  const http = await import("node:http");
  const served: string[] = [];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? "/").split("?")[0]);
    served.push(url);
    if (pages[url] !== undefined) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(pages[url]);
      return;
    }
    const file = path.join(root, url.replace(/^\/files\//, ""));
    if (url.startsWith("/files/") && file.startsWith(root + path.sep) && fs.existsSync(file)) {
      res.writeHead(200, { "content-type": "text/javascript" }).end(fs.readFileSync(file));
      return;
    }
    res.writeHead(404).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, served, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("every chart loads plotly.js itself from the Jupyter server (JupyterLab and classic Notebook pages), once per page", { skip: chromiumSkip() }, async () => {
  const repo = path.resolve(__dirname, "..");
  const fig = figures[0].fig;
  // As the kernel in notebooks/ would emit them: no chart carries plotly.js.
  const from = { abs: fs.realpathSync(require.resolve("plotly.js-dist-min/plotly.min.js")).split(path.sep).join("/"), rel: "", home: "/nonexistent-home" };
  from.rel = path.relative(path.join(repo, "notebooks"), from.abs).split(path.sep).join("/");
  const body = [0, 1].map((i) => figureHtml(fig, { divId: `c${i}`, plotlyFrom: from })).join("\n");
  const lab = `<!doctype html><html><head><script id="jupyter-config-data" type="application/json">${JSON.stringify({ baseUrl: "/", serverRoot: repo })}</script></head><body>${body}</body></html>`;
  const classic = `<!doctype html><html><head></head><body data-base-url="/" data-notebook-path="notebooks/01-exploration.ipynb">${body}</body></html>`;
  const server = await fakeJupyter(repo, { "/lab/tree/notebooks/01-exploration.ipynb": lab, "/notebooks/notebooks/01-exploration.ipynb": classic });
  const browser = await launchOffline();
  try {
    // Loopback only: this context lets requests to the stand-in server through and aborts every other one.
    const context = await browser.browser.newContext({ viewport: { width: 1200, height: 900 } });
    const elsewhere: string[] = [];
    const errors: string[] = [];
    await context.route(/^(https?|wss?):/i, (route) => {
      if (route.request().url().startsWith(server.url + "/")) return route.continue();
      elsewhere.push(route.request().url());
      return route.abort();
    });
    for (const pagePath of ["/lab/tree/notebooks/01-exploration.ipynb", "/notebooks/notebooks/01-exploration.ipynb"]) {
      const page = await context.newPage();
      page.on("pageerror", (e) => errors.push(`${pagePath}: ${e.message}`));
      server.served.length = 0;
      await page.goto(server.url + pagePath, { waitUntil: "load" });
      for (const id of ["#c0", "#c1"]) await page.waitForSelector(`${id} svg.main-svg`, { timeout: 20_000 });
      const fetched = server.served.filter((u) => u.endsWith("plotly.min.js"));
      assert.equal(fetched.length, 1, `${pagePath}: plotly.js fetched once, got ${JSON.stringify(server.served)}`);
      assert.match(fetched[0], /^\/files\/node_modules\/.*plotly\.min\.js$/);
      await page.close();
    }
    assert.deepEqual(errors, [], "page errors");
    assert.deepEqual(elsewhere, [], "requests leaving 127.0.0.1");
  } finally {
    await browser.close();
    await server.close();
  }
});

test("without plotly.js (no server, or scripts off as in an untrusted notebook) each chart shows its static image", { skip: chromiumSkip() }, async () => {
  const browser = await launchOffline();
  try {
    const body = figures.map((f, i) => figureHtml(f.fig, { divId: `s${i}` })).join("\n");
    for (const scripts of [true, false]) {
      const context = await browser.browser.newContext({ viewport: { width: 900, height: 900 }, javaScriptEnabled: scripts });
      const page = await context.newPage();
      await page.setContent(`<!doctype html><html><body style="margin:0">${body}</body></html>`, { waitUntil: "load" });
      await page.waitForTimeout(300);
      const shown = await page.evaluate(() => {
        const d = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ naturalWidth: number; getBoundingClientRect(): { width: number; right: number } }> } }).document;
        return Array.from(d.querySelectorAll(".fmnist-plot img")).map((img) => ({ natural: img.naturalWidth, width: img.getBoundingClientRect().width, right: img.getBoundingClientRect().right }));
      });
      assert.equal(shown.length, figures.length, `scripts ${scripts}: one static image per chart`);
      for (const [i, s] of shown.entries()) {
        assert.ok(s.natural > 0, `scripts ${scripts}: image ${i} decoded`);
        assert.ok(s.width > 100 && s.right <= 900, `scripts ${scripts}: image ${i} fits a 900 px page (width ${s.width}, right ${s.right})`);
      }
      await context.close();
    }
  } finally {
    await browser.close();
  }
});
