// `npm run report`: builds a static, offline HTML site (index + one page per executed notebook) from
// artifacts/executed/<profile>/*.ipynb and artifacts/results/*.json. Built in a temp folder, then renamed
// over the output folder, so an interrupted build never leaves a half-written report.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeAssets } from "./report/assets";
import { pageHtml } from "./report/page";
import { parseNotebook, renderNotebook, type NotebookStatus } from "./report/render-notebook";
import { renderIndex, type NotebookEntry } from "./report/render-index";
import type { ResultsFile } from "../lib/src/results";
import { readArgs } from "./cli-args";
import { runMain } from "./cli-main";
import { prepareTryIt, tryItBody, tryItPageWeight, writeTryItFiles, TRYIT_PAGE, TRYIT_SCRIPTS, TRYIT_STYLE, type TryItInput } from "./report/tryit";

/** Where to read and write. */
export interface ReportOptions {
  /** Folder of executed notebooks (and the runner's summary.json). */
  inDir: string;
  /** Folder of per-notebook results files. */
  resultsDir: string;
  /** Output folder (replaced as a whole). */
  outDir: string;
  /**
   * The try-it page's data (prepareTryIt), or the note why there is no model to try. Without it no
   * try-it page is written (buildReportWithTryIt prepares it; `npm run report` always does).
   */
  tryIt?: TryItInput;
  /** Keras's results folder (npm run reference); default: <resultsDir>/../reference/keras-<profile>/results. */
  kerasResultsDir?: string;
}

/** What was written: page file names (relative to outDir) and their sizes in bytes. */
export interface ReportSummary {
  outDir: string;
  pages: Array<{ file: string; bytes: number; charts: number }>;
  /** The try-it page: bytes it loads in all (page, model, tfjs, plotly …), or the note written instead. */
  tryIt?: { file: string; pageWeightBytes?: number; note?: string };
}

interface SummaryJson {
  profile?: string;
  startedAt?: string;
  durationSec?: number;
  notebooks?: Array<{ notebook: string; status: string; check?: string; durationSec?: number; failure?: NotebookStatus["failure"] }>;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Drops every value the pages format as a number but that is not one (a hand-edited or foreign
 * file: "v.toFixed is not a function" used to abort the whole report), naming file and key on
 * stderr; the value shows as "—". Mutates `r`.
 */
function dropNonNumeric(r: Record<string, unknown>, file: string): void {
  const warn = (key: string, v: unknown): void => {
    process.stderr.write(`report: ${file}: ${key} is ${JSON.stringify(v) ?? String(v)}, not a number; shown as "—" (fix or re-create the file by re-running its notebook)\n`);
  };
  const metrics = (m: Record<string, unknown>, at: string): void => {
    for (const [k, v] of Object.entries(m)) {
      if (!isNumber(v)) {
        warn(`${at}["${k}"]`, v);
        delete m[k];
      }
    }
  };
  if (r.durationSec !== undefined && !isNumber(r.durationSec)) {
    warn("durationSec", r.durationSec);
    delete r.durationSec;
  }
  metrics(r.metrics as Record<string, unknown>, "metrics");
  if (r.models === undefined) return;
  if (!Array.isArray(r.models)) {
    warn("models", r.models);
    delete r.models;
    return;
  }
  r.models = (r.models as unknown[]).filter((m, i) => {
    const ok = typeof m === "object" && m !== null && typeof (m as { name?: unknown }).name === "string" && typeof (m as { metrics?: unknown }).metrics === "object" && (m as { metrics?: unknown }).metrics !== null;
    if (!ok) process.stderr.write(`report: ${file}: models[${i}] is not a model entry (name and metrics); skipped\n`);
    return ok;
  });
  (r.models as Array<Record<string, unknown>>).forEach((m, i) => {
    for (const key of ["trainSec", "params"]) {
      if (m[key] !== undefined && !isNumber(m[key])) {
        warn(`models[${i}].${key}`, m[key]);
        delete m[key];
      }
    }
    metrics(m.metrics as Record<string, unknown>, `models[${i}].metrics`);
  });
}

/** Results files (lenient: a malformed one is reported on stderr and skipped, the report still builds). */
function readResults(dir: string): ResultsFile[] {
  if (!fs.existsSync(dir)) return [];
  const out: ResultsFile[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const r = readJson(path.join(dir, f)) as Partial<ResultsFile> | null;
    if (!r || typeof r.notebook !== "string" || typeof r.metrics !== "object" || r.metrics === null || typeof r.backend !== "object") {
      process.stderr.write(`report: skipping ${path.join(dir, f)}: not a NotebookResults file\n`);
      continue;
    }
    dropNonNumeric(r as Record<string, unknown>, path.join(dir, f));
    out.push(r as ResultsFile);
  }
  return out;
}

/** The run being reported: its executed notebooks, the runner's summary and the results files of that run. */
function readRun(opts: Pick<ReportOptions, "inDir" | "resultsDir">): { files: string[]; names: string[]; summary: SummaryJson; statusOf: Map<string, NonNullable<SummaryJson["notebooks"]>[number]>; results: ResultsFile[] } {
  if (!fs.existsSync(opts.inDir)) {
    throw new Error(`no executed notebooks at ${opts.inDir}: run the notebooks first (npm run notebooks:check or npm run reproduce), or pass --in <folder>`);
  }
  const files = fs.readdirSync(opts.inDir).filter((f) => f.endsWith(".ipynb")).sort();
  if (files.length === 0) throw new Error(`${opts.inDir} holds no .ipynb files: run the notebooks first, or pass --in <folder>`);
  const summaryFile = path.join(opts.inDir, "summary.json");
  const summary: SummaryJson = fs.existsSync(summaryFile) ? (readJson(summaryFile) as SummaryJson) : {};
  // The runner writes it, but it is formatted with toFixed too: a bad duration must not abort the report.
  if (summary.durationSec !== undefined && !isNumber(summary.durationSec)) {
    process.stderr.write(`report: ${summaryFile}: durationSec is ${JSON.stringify(summary.durationSec)}, not a number; shown as "—"\n`);
    delete summary.durationSec;
  }
  if (summary.notebooks !== undefined && !Array.isArray(summary.notebooks)) {
    process.stderr.write(`report: ${summaryFile}: notebooks is not a list; notebook statuses shown as unknown\n`);
    delete summary.notebooks;
  }
  (summary.notebooks ?? []).forEach((n, i) => {
    if (n.durationSec !== undefined && !isNumber(n.durationSec)) {
      process.stderr.write(`report: ${summaryFile}: notebooks[${i}].durationSec is ${JSON.stringify(n.durationSec)}, not a number; shown as "—"\n`);
      delete n.durationSec;
    }
  });
  const statusOf = new Map((summary.notebooks ?? []).map((n) => [n.notebook.replace(/\.ipynb$/, ""), n]));

  const names = files.map((f) => f.replace(/\.ipynb$/, ""));
  const results = readResults(opts.resultsDir).filter((r) => names.includes(r.notebook) && (!summary.profile || r.profile === summary.profile));
  return { files, names, summary, statusOf, results };
}

/** Builds the report; returns the pages written. */
export function buildReport(opts: ReportOptions): ReportSummary {
  const { files, names, summary, statusOf, results } = readRun(opts);
  const parent = path.dirname(path.resolve(opts.outDir));
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(opts.outDir)}.tmp-`));
  fs.chmodSync(tmp, 0o755); // mkdtemp creates 0700; the report is meant to be served or shared
  try {
    writeAssets(tmp);
    const pages: ReportSummary["pages"] = [];
    const write = (file: string, html: string, charts: number): void => {
      fs.writeFileSync(path.join(tmp, file), html);
      pages.push({ file, bytes: Buffer.byteLength(html), charts });
    };
    const rendered = files.map((f, i) => {
      const name = names[i];
      const nb = parseNotebook(fs.readFileSync(path.join(opts.inDir, f), "utf8"), path.join(opts.inDir, f));
      const st = statusOf.get(name);
      const status: NotebookStatus | undefined = st ? { status: st.status, durationSec: st.durationSec, failure: st.failure } : undefined;
      const r = renderNotebook(nb, name, status);
      // Notebook 11 evaluated the model the try-it page carries: link to it at the top.
      if (name === "11-evaluation" && opts.tryIt && "data" in opts.tryIt) {
        r.body = `<p class="tryit-callout" id="tryit-link"><a href="${TRYIT_PAGE}">Try this model in your browser →</a> test images, your drawing or a photo, offline.</p>\n${r.body}`;
      }
      return { name, status, ...r };
    });
    rendered.forEach((r, i) => {
      const prev = rendered[i - 1];
      const next = rendered[i + 1];
      const html = pageHtml({
        title: r.title,
        body: r.body,
        hasCharts: r.charts > 0,
        code: true,
        nav: { prev: prev && { href: `${prev.name}.html`, title: prev.title }, next: next && { href: `${next.name}.html`, title: next.title } },
      });
      write(`${r.name}.html`, html, r.charts);
    });
    const entries: NotebookEntry[] = rendered.map((r) => ({
      name: r.name,
      title: r.title,
      href: `${r.name}.html`,
      status: r.status?.status ?? "unknown",
      check: statusOf.get(r.name)?.check,
      durationSec: r.status?.durationSec ?? results.find((x) => x.notebook === r.name)?.durationSec,
    }));
    let tryIt: ReportSummary["tryIt"];
    if (opts.tryIt) {
      const t = opts.tryIt;
      if ("data" in t) writeTryItFiles(tmp, t.data);
      const html = pageHtml({
        title: "Try the model · Fashion-MNIST report",
        body: tryItBody(t),
        hasCharts: "data" in t,
        head: "data" in t ? TRYIT_STYLE : undefined,
        scripts: "data" in t ? TRYIT_SCRIPTS : undefined,
        nav: { prev: rendered.find((r) => r.name === "11-evaluation") && { href: "11-evaluation.html", title: "11 · Evaluation" } },
      });
      write(TRYIT_PAGE, html, 0);
      tryIt = "data" in t ? { file: TRYIT_PAGE, pageWeightBytes: tryItPageWeight(tmp) } : { file: TRYIT_PAGE, note: t.note };
    }
    const dates = results.map((r) => r.createdAt).sort();
    const kerasDir = opts.kerasResultsDir ?? (summary.profile ? path.join(path.dirname(path.resolve(opts.resultsDir)), "reference", `keras-${summary.profile}`, "results") : undefined);
    const keras = kerasDir ? readResults(kerasDir).filter((r) => r.profile === summary.profile && (r.backend?.name as string | undefined) === "keras") : [];
    const index = renderIndex({
      keras,
      results,
      notebooks: entries,
      profile: summary.profile,
      runDate: summary.startedAt ?? dates[dates.length - 1],
      totalSec: summary.durationSec ?? (results.length ? results.reduce((s, r) => s + (r.durationSec ?? 0), 0) : undefined),
      tryIt: tryIt && { href: tryIt.file, note: tryIt.note },
    });
    write("index.html", pageHtml({ title: "Fashion-MNIST report", body: index.body, hasCharts: index.charts > 0 }), index.charts);

    // Swap the finished folder in: rename the old one aside first, since rename cannot replace a non-empty folder.
    const out = path.resolve(opts.outDir);
    const old = fs.existsSync(out) ? `${tmp}.old` : undefined;
    if (old) fs.renameSync(out, old);
    fs.renameSync(tmp, out);
    if (old) fs.rmSync(old, { recursive: true, force: true });
    return { outDir: out, pages, ...(tryIt ? { tryIt } : {}) };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

const REPORT_USAGE =
  "usage: report [--profile quick|full] [--artifacts <folder>] [--in <executed notebooks>] [--results <results dir>] [--out <report dir>]";

/**
 * Parses --profile / --artifacts / --in / --results / --out (each `--x value` or `--x=value`).
 * --profile picks artifacts/executed/<profile> (default $FMNIST_PROFILE, else quick) and writes
 * artifacts/report/<profile> for the full profile, so a full report never overwrites the quick one.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env, root = path.join(__dirname, "..")): ReportOptions {
  return parseAll(argv, env, root).opts;
}

/** {@link parseArgs} plus the artifacts folder (whose models/best the try-it page carries). */
export function parseAll(argv: string[], env: NodeJS.ProcessEnv = process.env, root = path.join(__dirname, "..")): { opts: ReportOptions; artifactsDir: string } {
  const given: Record<string, string> = {};
  for (const arg of readArgs(argv)) {
    if (!["--profile", "--artifacts", "--in", "--results", "--out"].includes(arg.flag)) throw new Error(`unknown argument "${arg.flag}"`);
    given[arg.flag] = arg.value();
  }
  const profile = given["--profile"] ?? env.FMNIST_PROFILE ?? "quick";
  if (profile !== "quick" && profile !== "full") throw new Error(`--profile must be quick or full, got "${profile}"`);
  const artifacts = path.resolve(given["--artifacts"] ?? env.FMNIST_ARTIFACTS_DIR ?? path.join(root, "artifacts"));
  const opts: ReportOptions = {
    inDir: path.resolve(given["--in"] ?? path.join(artifacts, "executed", profile)),
    resultsDir: path.resolve(given["--results"] ?? path.join(artifacts, "results")),
    outDir: path.resolve(given["--out"] ?? (profile === "quick" ? path.join(artifacts, "report") : path.join(artifacts, "report", profile))),
  };
  return { opts, artifactsDir: artifacts };
}

/**
 * `npm run report`: the report with its try-it page, which carries `<artifactsDir>/models/best` when
 * the run has one (loaded and checked in Node first), and otherwise says why there is none.
 */
export async function buildReportWithTryIt(opts: ReportOptions, artifactsDir: string, extra: { dataDir?: string; backend?: string } = {}): Promise<ReportSummary> {
  const { summary, results } = readRun(opts);
  const tryIt = await prepareTryIt({ artifactsDir, profile: summary.profile, results, ...extra });
  return buildReport({ ...opts, tryIt });
}

if (require.main === module) {
  runMain({
    name: "report",
    usage: REPORT_USAGE,
    parse: (argv) => (argv.includes("--help") || argv.includes("-h") ? "help" : parseAll(argv)),
    run: async ({ opts, artifactsDir }) => {
      const r = await buildReportWithTryIt(opts, artifactsDir);
      for (const p of r.pages) console.log(`${p.file.padEnd(40)} ${(p.bytes / 1024).toFixed(1).padStart(9)} KiB  ${p.charts} chart(s)`);
      if (r.tryIt?.note) console.log(`try-it page: no model to try (${r.tryIt.note})`);
      else if (r.tryIt?.pageWeightBytes !== undefined) console.log(`try-it page: ${r.tryIt.file} loads ${(r.tryIt.pageWeightBytes / 1024 / 1024).toFixed(2)} MB in all (model, tfjs, plotly.js)`);
      console.log(`report written to ${r.outDir}/index.html`);
      return 0;
    },
  });
}
