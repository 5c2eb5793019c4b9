// `npm run report`: builds a static, offline HTML site (index + one page per executed notebook) from
// artifacts/executed/<profile>/*.ipynb and artifacts/results/*.json. Built in a temp folder, then renamed
// over the output folder, so an interrupted build never leaves a half-written report.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeAssets } from "./report/assets";
import { pageHtml } from "./report/page";
import { parseNotebook, renderNotebook, type NotebookStatus } from "./report/render-notebook";
import { renderIndex, type NotebookEntry, type ResultsLike } from "./report/render-index";

/** Where to read and write. */
export interface ReportOptions {
  /** Folder of executed notebooks (and the runner's summary.json). */
  inDir: string;
  /** Folder of per-notebook results files. */
  resultsDir: string;
  /** Output folder (replaced as a whole). */
  outDir: string;
}

/** What was written: page file names (relative to outDir) and their sizes in bytes. */
export interface ReportSummary {
  outDir: string;
  pages: Array<{ file: string; bytes: number; charts: number }>;
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
function readResults(dir: string): ResultsLike[] {
  if (!fs.existsSync(dir)) return [];
  const out: ResultsLike[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
    const r = readJson(path.join(dir, f)) as Partial<ResultsLike> | null;
    if (!r || typeof r.notebook !== "string" || typeof r.metrics !== "object" || r.metrics === null || typeof r.backend !== "object") {
      process.stderr.write(`report: skipping ${path.join(dir, f)}: not a NotebookResults file\n`);
      continue;
    }
    dropNonNumeric(r as Record<string, unknown>, path.join(dir, f));
    out.push(r as ResultsLike);
  }
  return out;
}

/** Builds the report; returns the pages written. */
export function buildReport(opts: ReportOptions): ReportSummary {
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
      return { name, status, ...renderNotebook(nb, name, status) };
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
    const dates = results.map((r) => r.createdAt).sort();
    const index = renderIndex({
      results,
      notebooks: entries,
      profile: summary.profile,
      runDate: summary.startedAt ?? dates[dates.length - 1],
      totalSec: summary.durationSec ?? (results.length ? results.reduce((s, r) => s + (r.durationSec ?? 0), 0) : undefined),
    });
    write("index.html", pageHtml({ title: "Fashion-MNIST report", body: index.body, hasCharts: index.charts > 0 }), index.charts);

    // Swap the finished folder in: rename the old one aside first, since rename cannot replace a non-empty folder.
    const out = path.resolve(opts.outDir);
    const old = fs.existsSync(out) ? `${tmp}.old` : undefined;
    if (old) fs.renameSync(out, old);
    fs.renameSync(tmp, out);
    if (old) fs.rmSync(old, { recursive: true, force: true });
    return { outDir: out, pages };
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
  const given: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (!["--profile", "--artifacts", "--in", "--results", "--out"].includes(flag)) throw new Error(`unknown argument "${argv[i]}"; ${REPORT_USAGE}`);
    const value = inline ?? argv[++i];
    if (!value) throw new Error(`${flag} needs a value; ${REPORT_USAGE}`);
    given[flag] = value;
  }
  const profile = given["--profile"] ?? env.FMNIST_PROFILE ?? "quick";
  if (profile !== "quick" && profile !== "full") throw new Error(`--profile must be quick or full, got "${profile}"`);
  const artifacts = path.resolve(given["--artifacts"] ?? env.FMNIST_ARTIFACTS_DIR ?? path.join(root, "artifacts"));
  return {
    inDir: path.resolve(given["--in"] ?? path.join(artifacts, "executed", profile)),
    resultsDir: path.resolve(given["--results"] ?? path.join(artifacts, "results")),
    outDir: path.resolve(given["--out"] ?? (profile === "quick" ? path.join(artifacts, "report") : path.join(artifacts, "report", profile))),
  };
}

if (require.main === module) {
  try {
    const r = buildReport(parseArgs(process.argv.slice(2)));
    for (const p of r.pages) console.log(`${p.file.padEnd(40)} ${(p.bytes / 1024).toFixed(1).padStart(9)} KiB  ${p.charts} chart(s)`);
    console.log(`report written to ${r.outDir}/index.html`);
  } catch (e) {
    console.error(`report: ${(e as Error).message}`);
    process.exit(1);
  }
}
