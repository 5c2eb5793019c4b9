// End-to-end front-end test (issue 14): the notebooks in a real JupyterLab 4 in headless Chromium, used as a
// data scientist would. Opens 01-exploration and 04-cnn-32-vs-64 (quick profile, temporary copies), runs all,
// re-runs a chart cell and a training cell, interrupts a longer training cell during epoch 2, saves, reloads,
// and checks: charts drawn (svg.main-svg) before and after the reload, no error output except the interrupted
// cell's one line, the kernel alive afterwards, the saved files valid nbformat and ≤ 2 MB, no request leaving
// 127.0.0.1, no page errors. Each check is a subtest named after what it asserts; its message names the cell
// and quotes its output.
//
// Needs JupyterLab in the venv of scripts/jupyter-env.ts (`npx tsx scripts/jupyter-env.ts`) and /usr/bin/chromium; skips
// without them, except under CI=true, where their absence fails. FMNIST_E2E_SHOTS=1 (or a folder) keeps the
// screenshots and saved notebooks in /tmp/e2e-shots (or that folder); FMNIST_E2E_KEEP=1 keeps the temporary
// folder (.cache/e2e-*).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { findJupyterEnv, type JupyterEnv } from "../scripts/jupyter-env";
import { chromiumSkip } from "./helpers/chromium";
import { killEverything, launchGuardedChromium, privateDir, startJupyterLab, validateNotebook, type GuardedBrowser, type JupyterLabServer } from "./helpers/jupyter";
import { resolveConfig } from "../lib/src/config";
import { makeSplit, saveSplit } from "../lib/src/data/split";

const REPO = path.resolve(__dirname, "..");
const NOTEBOOKS = path.join(REPO, "notebooks");
const NB01 = "01-exploration.ipynb";
const NB04 = "04-cnn-32-vs-64.ipynb";
const MAX_SAVED_BYTES = 2 * 1024 * 1024;
const RUN_ALL_TIMEOUT = 5 * 60_000;
const CELL_TIMEOUT = 3 * 60_000;
const CHART_TIMEOUT = 30_000;
const STACK_LINE = /^\s{4}at /m;
/** The whole test's limit; a watchdog kills what it started a minute before, so its clean-up still runs. */
const TEST_TIMEOUT = 15 * 60_000;
/** How a training cell reports its test evaluation ("test accuracy 0.87", "test acc 0.87"). */
const TEST_ACC = /test (accuracy|acc)\b/i;

/** Why the test cannot run here (missing JupyterLab venv or Chromium, lib not built), or null. */
function missingPrerequisite(): string | null {
  const chromium = chromiumSkip();
  if (chromium) return chromium;
  const jenv = findJupyterEnv();
  if ("missing" in jenv) return jenv.missing;
  if (!fs.existsSync(path.join(REPO, "lib", "dist", "index.js"))) return "lib/dist is not built: run `npm run build`";
  if (!fs.existsSync(path.join(REPO, "node_modules", "tslab", "bin", "tslab"))) return "tslab is not installed: run `npm ci`";
  return null;
}
const MISSING = missingPrerequisite();
// CI must never skip: there the missing prerequisite is the failure.
const SKIP = MISSING && process.env.CI !== "true" ? `end-to-end JupyterLab test skipped: ${MISSING}` : false;

// ---------------------------------------------------------------------------------------------
// What the page reports about the open notebook (read through window.jupyterapp, JupyterLab's own models).

interface OutputSummary {
  type: string;
  /** Stream name (stdout/stderr). */
  name?: string;
  /** Stream text, error "ename: evalue" + traceback, or a display's text/plain (each cut to 3,000 chars). */
  text: string;
  mimes: string[];
  /** Size of the output as JSON. */
  bytes: number;
}
interface CellSummary {
  index: number;
  id: string;
  type: string;
  source: string;
  executionCount: number | null;
  running: boolean;
  outputs: OutputSummary[];
  /** Plotly's drawn charts in the cell's output area. */
  svgs: number;
  /** The output area's visible text (scripts and styles left out), cut to 600 chars. */
  shownText: string;
}
interface NotebookSnapshot {
  path: string;
  kernelStatus: string;
  kernelName: string;
  kernelId: string;
  dirty: boolean;
  dialog: string;
  cells: CellSummary[];
}

/** Snapshot of the notebook in the main area, or null while none is open. */
async function snapshot(page: Page): Promise<NotebookSnapshot | null> {
  return page.evaluate(() => {
    /* eslint-disable @typescript-eslint/no-explicit-any */
    const g = globalThis as any;
    const panel = g.jupyterapp?.shell?.currentWidget;
    if (!panel?.content?.widgets || !panel.sessionContext || !panel.context) return null;
    const cut = (s: string, n: number) => (s.length > n ? s.slice(0, n) + "…" : s);
    const textOf = (v: unknown) => (Array.isArray(v) ? v.join("") : typeof v === "string" ? v : "");
    const visibleText = (el: any): string => {
      if (!el) return "";
      const copy = el.cloneNode(true);
      for (const s of copy.querySelectorAll("script, style")) s.remove();
      return (copy.textContent ?? "").replace(/\s+/g, " ").trim();
    };
    const dialog = g.document.querySelector(".jp-Dialog");
    const kernel = panel.sessionContext.session?.kernel;
    return {
      path: panel.context.path,
      kernelStatus: kernel?.status ?? "none",
      kernelName: kernel?.name ?? "",
      kernelId: kernel?.id ?? "",
      dirty: !!panel.context.model?.dirty,
      dialog: dialog ? visibleText(dialog) : "",
      cells: panel.content.widgets.map((cell: any, index: number) => {
        const m = cell.model;
        const outputs = m.type === "code" ? (m.outputs.toJSON() as any[]) : [];
        const prompt = cell.node.querySelector(".jp-InputPrompt")?.textContent ?? "";
        return {
          index,
          id: m.id,
          type: m.type,
          source: m.sharedModel.getSource(),
          executionCount: m.type === "code" ? (m.executionCount ?? null) : null,
          running: prompt.includes("*"),
          outputs: outputs.map((o) => ({
            type: o.output_type,
            name: o.name,
            text: cut(
              o.output_type === "stream"
                ? textOf(o.text)
                : o.output_type === "error"
                  ? `${o.ename}: ${o.evalue}\n${(o.traceback ?? []).join("\n")}`
                  : textOf(o.data?.["text/plain"]) || textOf(o.data?.["text/html"]).replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]+>/g, ""),
              3000,
            ),
            mimes: Object.keys(o.data ?? {}),
            bytes: JSON.stringify(o).length,
          })),
          svgs: cell.node.querySelectorAll(".jp-OutputArea svg.main-svg").length,
          shownText: cut(visibleText(cell.node.querySelector(".jp-OutputArea")), 600),
        };
      }),
    };
  });
}

/** Runs a JupyterLab command (by id) in the page, without waiting for what it starts. */
async function command(page: Page, id: string, args: Record<string, unknown> = {}): Promise<void> {
  await page.evaluate(({ id, args }) => {
    const g = globalThis as any;
    void g.jupyterapp.commands.execute(id, args);
  }, { id, args });
}

/** Selects cell `index` (the commands act on the active cell). */
async function selectCell(page: Page, index: number): Promise<void> {
  await page.evaluate((index) => {
    const g = globalThis as any;
    const nb = g.jupyterapp.shell.currentWidget.content;
    nb.activeCellIndex = index;
    nb.deselectAll();
  }, index);
}

/** Replaces cell `index`'s source, as typing in its editor would. */
async function setSource(page: Page, index: number, source: string): Promise<void> {
  await page.evaluate(({ index, source }) => {
    const g = globalThis as any;
    g.jupyterapp.shell.currentWidget.content.widgets[index].model.sharedModel.setSource(source);
  }, { index, source });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describeCell(c: CellSummary): string {
  const firstLine = c.source.split("\n").find((l) => l.trim() && !l.trim().startsWith("//")) ?? "";
  return `cell ${c.index} (id ${c.id}, \`${firstLine.trim().slice(0, 70)}\`)`;
}

function quoteOutputs(c: CellSummary, limit = 1200): string {
  const parts = c.outputs.map((o) => `[${o.type}${o.name ? ":" + o.name : ""}] ${o.text}`.trim());
  const all = parts.join("\n") || "(no output)";
  return all.length > limit ? all.slice(0, limit) + "…" : all;
}

/**
 * Waits until nothing runs: kernel idle and no cell showing [*], twice in a row 400 ms apart.
 * Throws with the running cells, the kernel status and any open dialog on timeout.
 */
async function waitQuiet(page: Page, what: string, timeoutMs: number): Promise<NotebookSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let quietSince = 0;
  let last: NotebookSnapshot | null = null;
  while (Date.now() < deadline) {
    last = await snapshot(page);
    const quiet = !!last && last.kernelStatus === "idle" && !last.cells.some((c) => c.running);
    if (quiet) {
      if (quietSince && Date.now() - quietSince >= 400) return last!;
      quietSince ||= Date.now();
    } else quietSince = 0;
    await sleep(200);
  }
  const running = last?.cells.filter((c) => c.running).map((c) => `${describeCell(c)}: ${quoteOutputs(c, 300)}`) ?? [];
  throw new Error(
    `${what}: still busy after ${timeoutMs / 1000} s (kernel ${last?.kernelStatus ?? "no notebook open"}; running: ${running.join("; ") || "none"}` +
      `${last?.dialog ? `; dialog open: "${last.dialog.slice(0, 300)}"` : ""})`,
  );
}

/** Opens `nbPath` in its own workspace and waits for its kernel (TypeScript (fmnist)) to be idle. */
async function openNotebook(page: Page, server: JupyterLabServer, nbPath: string, workspace: string): Promise<NotebookSnapshot> {
  await page.goto(server.url(`/lab/workspaces/${workspace}/tree/${nbPath.split("/").map(encodeURIComponent).join("/")}`), { waitUntil: "domcontentloaded" });
  await page.waitForFunction(() => !!(globalThis as any).jupyterapp, null, { timeout: 60_000 }).catch(() => {
    throw new Error("window.jupyterapp is not exposed (JupyterLab started without --LabApp.expose_app_in_browser=True?)");
  });
  await page.waitForFunction(
    (p) => {
      const w = (globalThis as any).jupyterapp.shell.currentWidget;
      return w?.context?.path === p && w.context.isReady && w.sessionContext?.session?.kernel?.status === "idle";
    },
    nbPath,
    { timeout: 90_000, polling: 250 },
  ).catch(async () => {
    const s = await snapshot(page).catch(() => null);
    throw new Error(`${nbPath} did not open with an idle kernel within 90 s (open: ${s?.path ?? "nothing"}, kernel ${s?.kernelStatus ?? "?"}${s?.dialog ? `, dialog: "${s.dialog.slice(0, 300)}"` : ""})`);
  });
  return waitQuiet(page, `opening ${nbPath}`, 30_000);
}

async function runCell(page: Page, index: number, what: string, timeoutMs = CELL_TIMEOUT): Promise<NotebookSnapshot> {
  await selectCell(page, index);
  await command(page, "notebook:run-cell");
  await page.waitForFunction((i) => {
    const cell = (globalThis as any).jupyterapp.shell.currentWidget.content.widgets[i];
    return (cell.node.querySelector(".jp-InputPrompt")?.textContent ?? "").includes("*") || cell.model.executionCount !== null;
  }, index, { timeout: 10_000, polling: 100 });
  await sleep(300);
  return waitQuiet(page, what, timeoutMs);
}

async function saveNotebook(page: Page, what: string): Promise<void> {
  await page.evaluate(async () => {
    await (globalThis as any).jupyterapp.commands.execute("docmanager:save");
  });
  await page.waitForFunction(() => !(globalThis as any).jupyterapp.shell.currentWidget.context.model.dirty, null, { timeout: 30_000 }).catch(() => {
    throw new Error(`${what}: the notebook is still unsaved (dirty) 30 s after docmanager:save`);
  });
}

/** Waits up to CHART_TIMEOUT for every chart cell to show an svg.main-svg; returns the latest snapshot. */
async function waitCharts(page: Page, chartCells: number[]): Promise<NotebookSnapshot> {
  const deadline = Date.now() + CHART_TIMEOUT;
  let s = (await snapshot(page))!;
  while (Date.now() < deadline && chartCells.some((i) => s.cells[i].svgs === 0)) {
    await sleep(500);
    s = (await snapshot(page))!;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Checks, each returning the problems it found (so a subtest reports all of them at once).

/** An error output, or stderr with an error or a stack trace (how tslab reports a cell's exception). */
function isErrorOutput(o: OutputSummary): boolean {
  return o.type === "error" || (o.type === "stream" && o.name === "stderr" && (/error/i.test(o.text) || STACK_LINE.test(o.text)));
}

/** Error outputs (and stderr with an error or a stack trace) in any code cell not in `allowed`. */
function errorOutputs(s: NotebookSnapshot, allowed: Set<number> = new Set()): string[] {
  const problems: string[] = [];
  for (const c of s.cells) {
    if (c.type !== "code" || allowed.has(c.index)) continue;
    const bad = c.outputs.filter(isErrorOutput);
    if (bad.length > 0) problems.push(`${describeCell(c)} has an error output: ${bad.map((o) => o.text.slice(0, 700)).join(" | ")}`);
  }
  return problems;
}

/** Chart cells without a drawn Plotly chart, with what they show instead. */
function undrawnCharts(s: NotebookSnapshot, chartCells: number[]): string[] {
  return chartCells
    .map((i) => s.cells[i])
    .filter((c) => c.svgs === 0)
    .map((c) => `${describeCell(c)} draws no chart (no svg.main-svg); it shows: "${c.shownText.slice(0, 300) || "(nothing)"}"; outputs: ${c.outputs.map((o) => `${o.type}[${o.mimes.join(",")}] ${o.bytes} B`).join(", ") || "none"}`);
}

/** Code cells never run (after Run All every code cell has an execution count). */
function unexecuted(s: NotebookSnapshot): string[] {
  return s.cells.filter((c) => c.type === "code" && c.executionCount === null).map((c) => `${describeCell(c)} was not executed`);
}

function chartCellsOf(s: NotebookSnapshot): number[] {
  return s.cells.filter((c) => c.type === "code" && /\bfm\.show\(/.test(c.source)).map((c) => c.index);
}

/**
 * A training cell's source with its epochs set to `n`: its `epochs: cfg.epochs` option replaced, or an
 * `{ epochs: n }` options argument added to its `ex.train("<model>", data)` call (which takes the profile's epochs).
 */
function withEpochs(cell: CellSummary, n: number): string {
  const option = /epochs:\s*cfg\.epochs/;
  if (option.test(cell.source)) return cell.source.replace(option, `epochs: ${n}`);
  const call = /(\.train\(\s*"[\w-]+",\s*data)\s*\)/;
  if (call.test(cell.source)) return cell.source.replace(call, `$1, { epochs: ${n} })`);
  throw new Error(`${describeCell(cell)} has neither \`epochs: cfg.epochs\` nor an \`ex.train("…", data)\` call to set the epochs in; its source:\n${cell.source}`);
}

function findCell(s: NotebookSnapshot, re: RegExp, what: string): CellSummary {
  const c = s.cells.find((x) => x.type === "code" && re.test(x.source));
  if (!c) throw new Error(`${s.path}: no code cell matches ${re} (${what})`);
  return c;
}

/** Saved file: valid nbformat (the venv's nbformat.validate) and at most 2 MB. */
function savedFileProblems(jenv: JupyterEnv, file: string): string[] {
  const problems: string[] = [];
  const size = fs.statSync(file).size;
  if (size > MAX_SAVED_BYTES) {
    const nb = JSON.parse(fs.readFileSync(file, "utf8")) as { cells: { id?: string; outputs?: unknown[] }[] };
    const biggest = nb.cells
      .map((c, i) => ({ i, id: c.id, bytes: JSON.stringify(c.outputs ?? []).length }))
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, 3)
      .map((c) => `cell ${c.i} (id ${c.id}) ${(c.bytes / 1e6).toFixed(2)} MB`);
    problems.push(`${path.basename(file)} is ${(size / 1e6).toFixed(2)} MB saved, over the 2 MB limit (largest outputs: ${biggest.join(", ")})`);
  }
  const invalid = validateNotebook(jenv.python, file);
  if (invalid) problems.push(`${path.basename(file)} is not valid nbformat: ${invalid}`);
  return problems;
}

function hashFolder(dir: string): string {
  if (!fs.existsSync(dir)) return "(absent)";
  const h = crypto.createHash("sha256");
  for (const f of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) h.update(f).update(fs.readFileSync(p));
  }
  return h.digest("hex");
}

function report(problems: string[], what: string): void {
  assert.equal(problems.length, 0, `${what}:\n  - ${problems.join("\n  - ")}`);
}

// ---------------------------------------------------------------------------------------------

test("JupyterLab 4 in Chromium: run all, re-run, interrupt, save, reload (notebooks 01 and 04)", { skip: SKIP, timeout: TEST_TIMEOUT }, async (t) => {
  if (MISSING) assert.fail(`CI=true and the end-to-end JupyterLab test cannot run: ${MISSING} (.ci/run must install it)`);
  const jenv = findJupyterEnv() as JupyterEnv;
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

  // JupyterLab serves the repository, as when a user runs `jupyter lab` in it (charts load plotly.js from
  // node_modules through the server). The notebooks are copies in a temporary folder inside the repo (.cache/ is
  // gitignored), so `import * as fm from "fmnist"` resolves through <repo>/node_modules as it does for notebooks/.
  privateDir(path.join(REPO, ".cache"));
  const tmp = fs.mkdtempSync(path.join(REPO, ".cache", "e2e-"));
  fs.chmodSync(tmp, 0o700);
  const root = privateDir(path.join(tmp, "notebooks"));
  /** A notebook's path as JupyterLab names it (relative to the server root, the repo). */
  const labPath = (nb: string) => path.relative(REPO, path.join(root, nb)).split(path.sep).join("/");
  const artifacts = privateDir(path.join(tmp, "artifacts"));
  const shots = privateDir(path.join(tmp, "shots"));
  for (const nb of [NB01, NB04]) fs.copyFileSync(path.join(NOTEBOOKS, nb), path.join(root, nb));

  // The kernels get the quick profile, our artefacts folder and no other FMNIST_* variable (fm.resolveConfig rejects unknown ones).
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FMNIST_")));
  Object.assign(env, { FMNIST_PROFILE: "quick", FMNIST_ARTIFACTS_DIR: artifacts });
  // Notebook 04 trains on the split notebook 02 writes: the same library call, made here.
  const cfg = resolveConfig({ FMNIST_PROFILE: "quick", FMNIST_ARTIFACTS_DIR: artifacts });
  saveSplit(makeSplit(cfg), cfg);

  let server: JupyterLabServer | undefined;
  let browser: GuardedBrowser | undefined;
  // Interrupted cell of 04 (its error output, if any, is the intended one).
  const allowed04 = new Set<number>();
  // Past this, kill the server, kernels and Chromium: every pending page call then fails and `finally` runs.
  const watchdog = setTimeout(() => {
    console.error(`jupyterlab.test.ts: still running after ${(TEST_TIMEOUT - 60_000) / 60_000} min; stopping JupyterLab, its kernels and Chromium`);
    killEverything();
  }, TEST_TIMEOUT - 60_000);
  watchdog.unref();
  try {
    server = await startJupyterLab({ jenv, root: REPO, allowHidden: true, stateDir: path.join(tmp, "state"), env });
    t.diagnostic(`JupyterLab ${jenv.labVersion} up on ${server.base} after ${elapsed()}`);
    browser = await launchGuardedChromium(path.join(tmp, "state", "chromium-profile"));
    const b = browser;
    const srv = server;

    // ---------------- 01-exploration
    let page = await b.newPage("01");
    page.setDefaultTimeout(60_000);
    await openNotebook(page, srv, labPath(NB01), "e2e01");
    const kernelName = (await snapshot(page))!.kernelName;
    assert.equal(kernelName, "fmnist-tslab", `${NB01} opened with kernel "${kernelName}", not the project's fmnist-tslab`);
    await command(page, "notebook:run-all-cells");
    await sleep(1000);
    let s = await waitQuiet(page, `${NB01}: Run All`, RUN_ALL_TIMEOUT);
    const charts01 = chartCellsOf(s);
    s = await waitCharts(page, charts01);
    t.diagnostic(`${NB01}: Run All done after ${elapsed()}; chart cells ${charts01.join(", ")}`);
    const runAll01 = s;
    await t.test(`${NB01}: Run All executes every cell, draws every chart, no error output`, () => {
      assert.ok(charts01.length >= 5, `${NB01}: expected at least 5 chart cells (fm.show), found ${charts01.length}`);
      report([...unexecuted(runAll01), ...errorOutputs(runAll01), ...undrawnCharts(runAll01, charts01)], `${NB01} after Run All`);
    });

    // The first chart cell: the one whose output a loader that depends on output order would have carried plotly.js in.
    const rerunChart01 = s.cells[charts01[0]];
    s = await runCell(page, rerunChart01.index, `${NB01}: re-running the first chart cell`);
    s = await waitCharts(page, charts01);
    const rerun01 = s;
    await t.test(`${NB01}: re-running a chart cell draws it again and leaves the other charts drawn`, () => {
      report([...errorOutputs(rerun01), ...undrawnCharts(rerun01, charts01)], `${NB01} after re-running ${describeCell(rerunChart01)}`);
    });

    await saveNotebook(page, NB01);
    const saved01 = path.join(root, NB01);
    await t.test(`${NB01}: the saved file is valid nbformat and at most 2 MB`, () => {
      report(savedFileProblems(jenv, saved01), `${NB01} as saved by JupyterLab`);
    });
    t.diagnostic(`${NB01}: saved (${(fs.statSync(saved01).size / 1e6).toFixed(2)} MB) after ${elapsed()}`);

    const kernel01 = s.kernelId;
    await page.reload({ waitUntil: "domcontentloaded" });
    await openNotebookAfterReload(page, labPath(NB01));
    s = await waitCharts(page, charts01);
    const reload01 = s;
    await shoot(page, shots, "01-after-reload", charts01);
    await t.test(`${NB01}: after save and reload every chart is drawn, no error output, same kernel idle`, () => {
      const problems = [...errorOutputs(reload01), ...undrawnCharts(reload01, charts01)];
      if (reload01.kernelStatus !== "idle") problems.push(`kernel status "${reload01.kernelStatus}" after the reload, not idle`);
      if (reload01.kernelId !== kernel01) problems.push(`the reloaded page has kernel ${reload01.kernelId}, not the session's ${kernel01}`);
      report(problems, `${NB01} after save + reload`);
    });

    // Layout: at 900 and 1400 px wide windows every chart fits its output area (Plotly's drawing and the static image).
    const clipped: string[] = [];
    for (const width of [900, 1400]) {
      await page.setViewportSize({ width, height: 1000 });
      await sleep(1500); // Plotly's responsive redraw runs on the window's resize event
      const overflow = await page.evaluate((cells) => {
        const g = globalThis as any;
        const widgets = g.jupyterapp.shell.currentWidget.content.widgets;
        const out: string[] = [];
        for (const i of cells) {
          const area = widgets[i].node.querySelector(".jp-OutputArea");
          if (!area) continue;
          const right = area.getBoundingClientRect().right;
          for (const el of area.querySelectorAll("svg.main-svg, .fmnist-plot img")) {
            const r = el.getBoundingClientRect();
            if (r.width > 0 && r.right > right + 1) out.push(`cell ${i}: ${el.tagName.toLowerCase()} ends at ${Math.round(r.right)} px, its output area at ${Math.round(right)} px`);
          }
        }
        return out;
      }, charts01);
      clipped.push(...overflow.map((o) => `${width} px window: ${o}`));
    }
    await page.setViewportSize({ width: 1400, height: 1000 });
    await t.test(`${NB01}: at 900 and 1400 px windows no chart is wider than its output area`, () => {
      report(clipped, `${NB01} layout`);
    });
    await page.close();
    await shutdownSessions(srv);

    // ---------------- 04-cnn-32-vs-64
    page = await b.newPage("04");
    page.setDefaultTimeout(60_000);
    await openNotebook(page, srv, labPath(NB04), "e2e04");
    await command(page, "notebook:run-all-cells");
    await sleep(1000);
    s = await waitQuiet(page, `${NB04}: Run All`, RUN_ALL_TIMEOUT);
    const charts04 = chartCellsOf(s);
    s = await waitCharts(page, charts04);
    const runAll04 = s;
    t.diagnostic(`${NB04}: Run All done after ${elapsed()}; chart cells ${charts04.join(", ")}`);
    await t.test(`${NB04}: Run All executes every cell, draws every chart, no error output`, () => {
      assert.ok(charts04.length >= 2, `${NB04}: expected at least 2 chart cells (fm.show), found ${charts04.length}`);
      report([...unexecuted(runAll04), ...errorOutputs(runAll04), ...undrawnCharts(runAll04, charts04)], `${NB04} after Run All`);
    });

    // Re-run the cnn32 training cell with epochs changed to 1 (after Run All, whose last cell freed memory), then its chart.
    const train32 = findCell(s, /(trainAndEvaluate|\.train)\(\s*(model32\b|"cnn32")/, "the cnn32 training cell");
    const curves32 = findCell(s, /learningCurves\(\s*run32\b/, "the cnn32 learning curves");
    await setSource(page, train32.index, withEpochs(train32, 1));
    s = await runCell(page, train32.index, `${NB04}: re-running the cnn32 training cell with epochs: 1`);
    const retrain = s.cells[train32.index];
    s = await runCell(page, curves32.index, `${NB04}: re-running the cnn32 learning-curves cell`);
    s = await waitCharts(page, charts04);
    const rerun04 = s;
    t.diagnostic(`${NB04}: re-runs done after ${elapsed()}`);
    await t.test(`${NB04}: after Run All, the training cell re-runs with epochs: 1 and gives the same kind of result`, () => {
      const problems = errorOutputs(rerun04).filter((p) => p.startsWith(`cell ${train32.index} `));
      const before = runAll04.cells[train32.index];
      if (TEST_ACC.test(quoteOutputs(before, 1e6)) && !TEST_ACC.test(quoteOutputs(retrain, 1e6))) {
        problems.push(`${describeCell(retrain)} printed no test accuracy on the re-run (Run All did); its output: ${quoteOutputs(retrain)}`);
      }
      if (!/epoch 1\/1\b/.test(quoteOutputs(retrain, 1e6))) problems.push(`${describeCell(retrain)} shows no "epoch 1/1" progress; its output: ${quoteOutputs(retrain)}`);
      report(problems, `${NB04}: re-running ${describeCell(train32)}`);
    });
    await t.test(`${NB04}: re-running a chart cell draws it again, no error output in any cell`, () => {
      report([...errorOutputs(rerun04), ...undrawnCharts(rerun04, charts04)], `${NB04} after re-running ${describeCell(train32)} and ${describeCell(curves32)}`);
    });

    // Interrupt the cnn64 training cell (4 epochs) while its progress shows epoch 2.
    const train64 = findCell(s, /(trainAndEvaluate|\.train)\(\s*(model64\b|"cnn64")/, "the cnn64 training cell");
    const nextAfter64 = s.cells.find((c) => c.type === "code" && c.index > train64.index)!;
    const train64With4 = withEpochs(train64, 4);
    allowed04.add(train64.index);
    const modelDir = path.join(artifacts, "models", "cnn64");
    const modelBefore = hashFolder(modelDir);
    await setSource(page, train64.index, train64With4);
    await selectCell(page, train64.index);
    await command(page, "notebook:run-cell");
    // Epoch 2 reached (or the cell ended first, or a timeout): a failure here fails the interrupt checks, not the rest.
    let reachError: Error | null = null;
    const epoch2 = await page.waitForFunction((i) => {
      const cell = (globalThis as any).jupyterapp.shell.currentWidget.content.widgets[i];
      // The live progress line of epoch 2 once at least one of its batches is done: "[cnn64] epoch 2/4 ███ 12/125 loss …".
      const m = JSON.stringify(cell.model.outputs.toJSON()).match(/epoch 2\/4[^"\\<]*?\b([1-9]\d*)\/\d+[^"\\<]*/);
      if (m) return m[0];
      const running = (cell.node.querySelector(".jp-InputPrompt")?.textContent ?? "").includes("*");
      return running ? false : "ENDED";
    }, train64.index, { timeout: CELL_TIMEOUT, polling: 100 }).then((h) => h.jsonValue()).catch(() => "TIMEOUT");
    if (epoch2 === "ENDED" || epoch2 === "TIMEOUT") {
      const c = (await snapshot(page))!.cells[train64.index];
      reachError = new Error(`${NB04}: ${describeCell(c)} ${epoch2 === "ENDED" ? "ended before epoch 2/4" : `showed no progress in epoch 2/4 within ${CELL_TIMEOUT / 1000} s`}, so it could not be interrupted there; its output: ${quoteOutputs(c)}`);
    } else {
      await sleep(500);
      t.diagnostic(`${NB04}: interrupting at "${epoch2}" after ${elapsed()}`);
    }
    await command(page, "kernelmenu:interrupt");
    s = await waitQuiet(page, `${NB04}: after Kernel › Interrupt during epoch 2 of ${describeCell(train64)}`, 90_000);
    const interrupted = s.cells[train64.index];
    const modelAfter = hashFolder(modelDir);
    // The cell after it: either it works with the partial result, or it says plainly that training was interrupted.
    s = await runCell(page, nextAfter64.index, `${NB04}: running the cell after the interrupted one`);
    s = await waitCharts(page, charts04);
    const next = s.cells[nextAfter64.index];
    allowed04.add(nextAfter64.index);
    await t.test(`${NB04}: Kernel › Interrupt during epoch 2 ends the training cell with one line, no stack trace, no test evaluation, no model saved`, () => {
      if (reachError) throw reachError;
      const problems: string[] = [];
      const text = quoteOutputs(interrupted, 1e6);
      if (!/interrupted/i.test(text)) problems.push(`${describeCell(interrupted)} says nothing about being interrupted; its output: ${quoteOutputs(interrupted)}`);
      const stack = interrupted.outputs.filter((o) => STACK_LINE.test(o.text));
      if (stack.length > 0) problems.push(`${describeCell(interrupted)} shows a stack trace: ${stack.map((o) => o.text.slice(0, 700)).join(" | ")}`);
      if (TEST_ACC.test(text)) problems.push(`${describeCell(interrupted)} went on to evaluate on the test set after the interrupt: "${text.split("\n").find((l) => TEST_ACC.test(l))}"`);
      const errs = interrupted.outputs.filter((o) => o.type === "error");
      if (errs.length > 1) problems.push(`${describeCell(interrupted)} has ${errs.length} error outputs: ${errs.map((o) => o.text.slice(0, 200)).join(" | ")}`);
      if (/epoch [34]\/4 (loss|.*done)/.test(text)) problems.push(`${describeCell(interrupted)} trained on past epoch 2 after the interrupt: ${quoteOutputs(interrupted, 600)}`);
      if (modelAfter !== modelBefore) problems.push(`the interrupt overwrote ${path.relative(tmp, modelDir)} (the model Run All saved) with the partial model`);
      report(problems, `${NB04}: interrupting ${describeCell(train64)}`);
    });
    await t.test(`${NB04}: the cell after the interrupted one works or says plainly that training was interrupted`, () => {
      const text = quoteOutputs(next, 1e6);
      const failed = next.outputs.some(isErrorOutput);
      const problems: string[] = [];
      if (STACK_LINE.test(text)) problems.push(`${describeCell(next)} shows a stack trace: ${quoteOutputs(next)}`);
      if (failed && !/interrupted/i.test(text)) problems.push(`${describeCell(next)} fails without saying that training was interrupted: ${quoteOutputs(next)}`);
      if (!failed && charts04.includes(next.index) && next.svgs === 0) problems.push(`${describeCell(next)} draws no chart: "${next.shownText.slice(0, 300)}"`);
      report(problems, `${NB04}: ${describeCell(next)} after the interrupt`);
    });

    // The kernel is alive: a trivial cell added at the end runs.
    const last = s.cells.length - 1;
    await selectCell(page, last);
    await page.evaluate(async () => {
      await (globalThis as any).jupyterapp.commands.execute("notebook:insert-cell-below");
    });
    const trivial = last + 1;
    await setSource(page, trivial, 'console.log(`kernel alive: ${6 * 7}`);');
    s = await runCell(page, trivial, `${NB04}: the trivial cell after the interrupt`, 60_000);
    const alive = s;
    await t.test(`${NB04}: the kernel is alive after the interrupt (idle, a trivial cell runs)`, () => {
      const c = alive.cells[trivial];
      assert.equal(alive.kernelStatus, "idle", `kernel status "${alive.kernelStatus}" after the interrupt`);
      assert.match(quoteOutputs(c), /kernel alive: 42/, `the trivial cell ${describeCell(c)} printed: ${quoteOutputs(c)}`);
    });

    await saveNotebook(page, NB04);
    const saved04 = path.join(root, NB04);
    await t.test(`${NB04}: the saved file is valid nbformat and at most 2 MB`, () => {
      report(savedFileProblems(jenv, saved04), `${NB04} as saved by JupyterLab`);
    });
    t.diagnostic(`${NB04}: saved (${(fs.statSync(saved04).size / 1e6).toFixed(2)} MB) after ${elapsed()}`);

    await page.reload({ waitUntil: "domcontentloaded" });
    await openNotebookAfterReload(page, labPath(NB04));
    s = await waitCharts(page, charts04);
    const reload04 = s;
    await shoot(page, shots, "04-after-reload", charts04);
    s = await runCell(page, trivial, `${NB04}: the trivial cell after the reload`, 60_000);
    const aliveAfterReload = s;
    await t.test(`${NB04}: after save and reload every chart is drawn, no error output except the interrupted cell, the kernel runs a cell`, () => {
      const problems = [...errorOutputs(reload04, allowed04), ...undrawnCharts(reload04, charts04.filter((i) => !allowed04.has(i)))];
      if (!/kernel alive: 42/.test(quoteOutputs(aliveAfterReload.cells[trivial]))) problems.push(`the trivial cell printed ${quoteOutputs(aliveAfterReload.cells[trivial])} after the reload`);
      report(problems, `${NB04} after save + reload`);
    });
    await page.close();
    await shutdownSessions(srv);

    const log = srv.log();
    await t.test("Jupyter Server logged no notebook validation problem", () => {
      const lines = log.split("\n").filter((l) => /Notebook JSON is invalid|is not of type|validation failed|Additional properties are not allowed/i.test(l));
      assert.deepEqual(lines.slice(0, 10), [], "server log lines about invalid notebooks");
    });
    // JupyterLab 4.6's debugger calls displayModules() after every execute_reply, which throws "No active debugger
    // session" (an unhandled rejection) whenever the debugger is not started, with any kernel: JupyterLab's, not ours.
    const jlabDebuggerBug = (e: string) => /^\S+: Error: No active debugger session\n\s+at \S*\.?displayModules /.test(e);
    const pageErrors = b.pageErrors.filter((e) => !jlabDebuggerBug(e));
    const ignored = b.pageErrors.length - pageErrors.length;
    if (ignored > 0) t.diagnostic(`ignored ${ignored} page errors "No active debugger session" from JupyterLab's debugger (displayModules after each execution)`);
    await t.test("no browser request left 127.0.0.1, no page errors", () => {
      report([...b.offHost.map((u) => `request to ${u}`), ...pageErrors.map((e) => `page error ${e.slice(0, 800)}`)], "browser");
    });
    if (b.consoleErrors.length > 0) t.diagnostic(`console errors (not asserted): ${b.consoleErrors.slice(0, 10).join(" | ").slice(0, 2000)}`);
    t.diagnostic(`done after ${elapsed()}; saved 01: ${(fs.statSync(saved01).size / 1e6).toFixed(2)} MB, 04: ${(fs.statSync(saved04).size / 1e6).toFixed(2)} MB`);
  } catch (err) {
    if (server) console.error(`jupyter server log (last 3,000 chars):\n${server.log().slice(-3000)}`);
    throw err;
  } finally {
    clearTimeout(watchdog);
    await browser?.close();
    await server?.stop();
    keepShots(tmp, root, shots);
    if (process.env.FMNIST_E2E_KEEP) t.diagnostic(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** After page.reload(): the workspace reopens the notebook; wait for it and its (same) kernel to be idle. */
async function openNotebookAfterReload(page: Page, nbPath: string): Promise<void> {
  await page.waitForFunction(
    (p) => {
      const w = (globalThis as any).jupyterapp?.shell?.currentWidget;
      return w?.context?.path === p && w.context.isReady && w.sessionContext?.session?.kernel?.status === "idle";
    },
    nbPath,
    { timeout: 90_000, polling: 250 },
  ).catch(() => {
    throw new Error(`${nbPath} was not reopened with an idle kernel within 90 s of the reload`);
  });
  await waitQuiet(page, `${nbPath} after the reload`, 30_000);
}

/** Screenshots: the window as it opens, then with each chart cell scrolled to the top of the notebook. */
async function shoot(page: Page, dir: string, name: string, chartCells: number[]): Promise<void> {
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
  for (const i of chartCells) {
    await page.evaluate((i) => {
      const cell = (globalThis as any).jupyterapp.shell.currentWidget.content.widgets[i];
      (cell.node.querySelector(".jp-Cell-outputWrapper") ?? cell.node).scrollIntoView({ block: "start" });
    }, i);
    await sleep(300);
    await page.screenshot({ path: path.join(dir, `${name}-cell${String(i).padStart(2, "0")}.png`) });
  }
}

/** FMNIST_E2E_SHOTS=1 (→ /tmp/e2e-shots) or =DIR: copies the screenshots and saved notebooks there. */
function keepShots(tmp: string, root: string, shots: string): void {
  const target = process.env.FMNIST_E2E_SHOTS;
  if (!target || !fs.existsSync(shots)) return;
  const dir = target === "1" || target === "true" ? "/tmp/e2e-shots" : path.resolve(target);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(shots)) fs.copyFileSync(path.join(shots, f), path.join(dir, f));
  for (const f of fs.readdirSync(root)) if (f.endsWith(".ipynb")) fs.copyFileSync(path.join(root, f), path.join(dir, `saved-${f}`));
  void tmp;
}

/** Shuts down every kernel session (frees the CPU and memory before the next notebook). */
async function shutdownSessions(server: JupyterLabServer): Promise<void> {
  const res = await server.api("/api/sessions");
  const sessions = (await res.json()) as { id: string }[];
  for (const s of sessions) await server.api(`/api/sessions/${s.id}`, { method: "DELETE" });
}
