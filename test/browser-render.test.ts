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
