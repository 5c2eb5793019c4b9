// Builds the report from test/fixtures/report and opens every page from disk in headless Chromium:
// each chart draws (SVG, expected trace count), no console errors, no http(s) request, no injected script ran.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { chromiumSkip, launchOffline, type OfflineBrowser } from "./helpers/chromium";
import { buildReport } from "../scripts/report";

const FIX = path.join(__dirname, "fixtures", "report");
const SCREENSHOTS = path.join(__dirname, "..", "artifacts", "screenshots", "report");

/** What a page reports about its charts (the project compiles without the DOM lib, so the page side is typed loosely). */
interface ChartState {
  expected: number;
  svg: boolean;
  traces: number;
}
interface PageDom {
  document: { querySelectorAll(sel: string): ArrayLike<PageEl> };
  __pwned?: number;
}
interface PageEl {
  getAttribute(name: string): string | null;
  querySelector(sel: string): unknown;
  data?: unknown[];
}

test("report pages render in headless Chromium, offline, without errors", { skip: chromiumSkip() }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "report-browser-"));
  const outDir = path.join(tmp, "report");
  const built = buildReport({ inDir: path.join(FIX, "executed"), resultsDir: path.join(FIX, "results"), outDir });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  const expectedTraces: Record<string, number[]> = { "index.html": [2], "01-fixture-exploration.html": [2], "02-fixture-failing.html": [3] };
  let browser: OfflineBrowser | undefined;
  try {
    browser = await launchOffline();
    for (const p of built.pages) {
      const page = await browser.newPage(p.file);
      await page.goto(pathToFileURL(path.join(outDir, p.file)).href, { waitUntil: "load" });
      const charts = await page.evaluate((): ChartState[] => {
        const w = globalThis as unknown as PageDom;
        return Array.from(w.document.querySelectorAll("div.plotly-chart")).map((gd) => ({
          expected: Number(gd.getAttribute("data-traces")),
          svg: gd.querySelector(".main-svg") !== null,
          traces: Array.isArray(gd.data) ? gd.data.length : -1,
        }));
      });
      assert.deepEqual(charts.map((c) => c.traces), expectedTraces[p.file], `${p.file}: trace counts`);
      for (const c of charts) {
        assert.ok(c.svg, `${p.file}: a chart has no .main-svg`);
        assert.equal(c.traces, c.expected, `${p.file}: trace count`);
      }
      assert.equal(charts.length, p.charts, `${p.file}: chart count`);
      const pwned = await page.evaluate(() => (globalThis as unknown as PageDom).__pwned);
      assert.equal(pwned, undefined, `${p.file}: a script from notebook outputs ran`);
      if (p.file === "02-fixture-failing.html") {
        assert.match(await page.locator("#run-status").innerText(), /FAILED/);
        assert.equal(await page.locator(".output .error").count(), 1);
      }
      if (p.file === "01-fixture-exploration.html") {
        assert.equal(await page.locator("table.dataframe td").count(), 4);
        assert.equal(await page.locator("img.output-image").evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), 4);
      }
      await page.screenshot({ path: path.join(SCREENSHOTS, p.file.replace(/\.html$/, ".png")), fullPage: true });
      await page.close();
    }
    assert.deepEqual(browser.errors, [], "console errors");
    assert.deepEqual(browser.remote, [], "requests leaving the machine");
  } finally {
    await browser?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
