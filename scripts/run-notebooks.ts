// Headless notebook runner: executes notebooks in order on the project's tslab kernel (no Python/Jupyter),
// writes executed copies and a summary, and checks each notebook's results against the committed baseline.
// Usage: npx tsx scripts/run-notebooks.ts --help
import * as fs from "node:fs";
import * as path from "node:path";
import { USAGE, globToRegExp, parseArgs, type RunnerOptions } from "./runner/args";
import {
  baselineEntryFromResults,
  compareNotebook,
  formatDiffTable,
  readBaseline,
  readResults,
  writeBaseline,
  type BaselineFile,
  type NotebookCheck,
  type ResultsLike,
} from "./runner/baseline";
import { executeNotebook, type NotebookRun } from "./runner/execute";
import { fmtMs, installKernelCleanup } from "./runner/kernel-client";
import { Progress } from "./runner/progress";
import { formatSummary, summaryRow, type RunSummary, type SummaryRow } from "./runner/summary";
import { writeJsonAtomic } from "./runner/atomic";
import { readDependencies, readExclusive, runScheduled } from "./runner/schedule";
import { LockHeldError, describeOwner, lockWithin, tryLock, type Lock } from "./runner/lock";

const REPO_ROOT = path.resolve(__dirname, "..");
/** The lock file a runner holds in its artifacts folder (and its output folder, when that is elsewhere). */
export const RUN_LOCK_FILE = ".runner.lock";
/** How long a baseline update waits for another runner's update of the same file. */
const BASELINE_LOCK_WAIT_MS = 30_000;

/**
 * Takes the run locks: one runner at a time per artifacts folder (results, models, summary) and per output
 * folder. A second runner refuses at once rather than waiting: a run lasts minutes to an hour, and a silent
 * wait looks like a hang. Returns the locks, or an error message naming the holder.
 */
export function takeRunLocks(folders: string[]): { locks: Lock[] } | { error: string } {
  const locks: Lock[] = [];
  const unique = [...new Set(folders.map((f) => path.resolve(f)))].filter(
    (f, _i, all) => !all.some((other) => other !== f && f.startsWith(other + path.sep)),
  );
  for (const folder of unique) {
    try {
      locks.push(tryLock(path.join(folder, RUN_LOCK_FILE)));
    } catch (err) {
      for (const l of locks) l.release();
      if (!(err instanceof LockHeldError)) throw err;
      return {
        error:
          `another runner is using ${folder}: ${describeOwner(err.owner)} holds ${err.lockFile}.\n` +
          `Wait for it to finish, or give this run its own folder (--set ARTIFACTS_DIR=… / --output …). ` +
          `If that process is not a runner any more, remove ${err.lockFile}.`,
      };
    }
  }
  return { locks };
}

/**
 * Writes new baseline entries into `baselineFile` under its lock: re-reads the file, replaces only the given
 * notebooks' entries (tolerances already in the file are kept), restamps updatedAt/recordedWith, writes it
 * atomically. Updates of other notebooks by a concurrent runner are kept, not overwritten.
 */
export async function mergeBaseline(
  baselineFile: string,
  profile: RunnerOptions["profile"],
  updates: Map<string, { results: ResultsLike; durationSec: number }>,
  recordedWith: BaselineFile["recordedWith"],
): Promise<void> {
  const lock = await lockWithin(`${baselineFile}.lock`, BASELINE_LOCK_WAIT_MS);
  try {
    const fresh = readBaseline(baselineFile, profile);
    for (const [name, u] of updates) {
      fresh.notebooks[name] = baselineEntryFromResults(u.results, profile, fresh.notebooks[name], u.durationSec);
    }
    fresh.updatedAt = new Date().toISOString();
    fresh.recordedWith = recordedWith;
    writeBaseline(baselineFile, fresh);
  } finally {
    lock.release();
  }
}

/**
 * Resolves selectors (names, name prefixes, globs, paths) to notebook files, sorted by file name (the series' order).
 * No selectors = every *.ipynb in `dir`. A selector that matches nothing is an error.
 */
export function selectNotebooks(selectors: string[], dir: string): string[] {
  const available = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
    : [];
  const picked = new Set<string>();
  if (selectors.length === 0) available.forEach((f) => picked.add(path.join(dir, f)));
  for (const s of selectors) {
    if (s.endsWith(".ipynb") && fs.existsSync(s) && fs.statSync(s).isFile()) {
      picked.add(path.resolve(s));
      continue;
    }
    const pattern = path.basename(s).replace(/\.ipynb$/, "");
    const re = globToRegExp(pattern);
    let hits = available.filter((f) => re.test(f.replace(/\.ipynb$/, "")));
    // A plain name that is not a whole notebook name selects by prefix: "03" → "03-dense-shallow".
    if (hits.length === 0 && !/[*?[]/.test(pattern)) hits = available.filter((f) => f.startsWith(pattern));
    if (hits.length === 0) {
      throw new Error(`no notebook matches "${s}" in ${dir} (available: ${available.join(", ") || "none"}).`);
    }
    hits.forEach((f) => picked.add(path.join(dir, f)));
  }
  return [...picked].sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
}

function printFailure(run: NotebookRun): void {
  const f = run.failure;
  if (!f) return;
  const where = f.cellNumber > 0 ? `at cell ${f.cellNumber} (code cell ${f.codeCellNumber})` : "before the first cell";
  const lines = [`\n✗ ${run.notebook}: ${run.status} ${where}: ${f.message}`];
  if (f.sourceHead) lines.push(...f.sourceHead.split("\n").map((l) => `    | ${l}`));
  // tslab's and node's own frames say nothing about the notebook.
  const internal = /node_modules[\\/]tslab[\\/]|\(node:vm:|at sigintHandlersWrap/;
  const detail = f.detail.trim().split("\n").filter((l) => !internal.test(l)).slice(-15);
  if (detail.length > 0 && detail[0] !== "") lines.push("  output:", ...detail.map((l) => `    ${l}`));
  if (run.output) lines.push(`  executed notebook (partial): ${run.output}`);
  console.error(lines.join("\n") + "\n");
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let o: RunnerOptions;
  try {
    o = parseArgs(argv, process.env, REPO_ROOT);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  let files: string[];
  try {
    files = selectNotebooks(o.selectors, o.notebooksDir);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  if (files.length === 0) {
    console.error(`no notebooks to run in ${o.notebooksDir}.`);
    return 2;
  }
  if (o.list) {
    files.forEach((f) => console.log(f));
    return 0;
  }
  installKernelCleanup();

  // Empty counts as unset; relative folders from the environment are resolved here, not in notebooks/ (the kernel's cwd).
  const artifactsDir = path.resolve(o.overrides.FMNIST_ARTIFACTS_DIR ?? (process.env.FMNIST_ARTIFACTS_DIR || path.join(REPO_ROOT, "artifacts")));
  const outputDir = o.outputDir ?? path.join(artifactsDir, "executed", o.profile);
  const baselineFile = o.baselineFile ?? path.join(REPO_ROOT, "notebooks", "baselines", `${o.profile}.json`);
  const checking = o.check || o.updateBaseline;
  const summaryDir = o.inPlace ? path.join(artifactsDir, "executed", o.profile) : outputDir;
  const taken = takeRunLocks([artifactsDir, summaryDir]);
  if ("error" in taken) {
    console.error(taken.error);
    return 2;
  }
  try {
    return await runLocked(o, files, artifactsDir, outputDir, summaryDir, baselineFile, checking);
  } finally {
    for (const l of taken.locks) l.release();
  }
}

async function runLocked(
  o: RunnerOptions,
  files: string[],
  artifactsDir: string,
  outputDir: string,
  summaryDir: string,
  baselineFile: string,
  checking: boolean,
): Promise<number> {
  let baseline: BaselineFile;
  try {
    baseline = readBaseline(baselineFile, o.profile);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  // Parameters go through the environment, exactly as a JupyterLab user sets them; FMNIST_UNDER_TEST tells
  // notebooks they run headless (nbdev's convention).
  const parameters: Record<string, string> = {
    FMNIST_PROFILE: o.profile,
    ...o.overrides,
    FMNIST_ARTIFACTS_DIR: artifactsDir,
    FMNIST_UNDER_TEST: "1",
  };
  // A relative data folder from the environment means the runner's current folder, not the kernel's (notebooks/).
  if (parameters.FMNIST_DATA_DIR === undefined && process.env.FMNIST_DATA_DIR) parameters.FMNIST_DATA_DIR = path.resolve(process.env.FMNIST_DATA_DIR);
  // Several notebooks at once share the cores: one wasm thread each unless the user chose otherwise;
  // a notebook that runs alone (metadata.fmnist.exclusive) keeps the default, every core.
  const aloneParameters = { ...parameters };
  if (o.jobs > 1 && files.length > 1 && process.env.FMNIST_WASM_THREADS === undefined && o.overrides.FMNIST_WASM_THREADS === undefined) {
    parameters.FMNIST_WASM_THREADS = "1";
  }
  const env: NodeJS.ProcessEnv = { ...process.env, ...parameters };
  const aloneEnv: NodeJS.ProcessEnv = { ...process.env, ...aloneParameters };

  const startedAt = new Date();
  const t0 = performance.now();
  const progress = new Progress();
  const rows: SummaryRow[] = [];
  const checks: NotebookCheck[] = [];
  /** Baseline entries to write (--update-baseline): notebooks that ran and wrote results. */
  const baselineUpdates = new Map<string, { results: ResultsLike; durationSec: number }>();
  let failed = false;
  let failedCount = 0;
  console.error(
    `running ${files.length} notebook(s), profile ${o.profile}${Object.keys(o.overrides).length ? `, ${Object.entries(o.overrides).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""}; executed copies → ${o.inPlace ? "in place" : outputDir}`,
  );

  let deps: Map<string, string[]>;
  let exclusive: Set<string>;
  try {
    deps = readDependencies(files);
    exclusive = readExclusive(files);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const names = files.map((f) => path.basename(f, ".ipynb"));
  const byName = new Map<string, { row: SummaryRow; check?: NotebookCheck }>();
  const parallel = o.jobs > 1 && files.length > 1;
  if (parallel) console.error(`up to ${o.jobs} notebooks at once (one kernel each)${exclusive.size ? `; ${[...exclusive].join(", ")} alone, with every core` : ""}`);

  const runOne = async (name: string, i: number): Promise<boolean> => {
    const file = files[i];
    // Several notebooks at once: plain lines tagged with the notebook, never a redrawn status line.
    const observer = parallel ? new Progress(process.stderr, false, 60_000, `[${name}] `, t0) : progress;
    observer.notebook(i + 1, files.length, name);
    const notebookStart = new Date();
    const run = await executeNotebook(file, {
      outputPath: o.inPlace ? file : path.join(outputDir, path.basename(file)),
      env: exclusive.has(name) ? aloneEnv : env,
      parameters: exclusive.has(name) ? aloneParameters : parameters,
      cellTimeoutMs: o.cellTimeoutSec * 1000,
      notebookBudgetMs: o.notebookTimeoutSec * 1000,
      startTimeoutMs: o.kernelTimeoutSec * 1000,
      observer,
    });
    let check: NotebookCheck | undefined;
    let results: ResultsLike | undefined;
    if (run.status === "ok") {
      const r = readResults(artifactsDir, name, { profile: o.profile, notBefore: notebookStart });
      results = "results" in r ? r.results : undefined;
      if (checking) {
        const base = baseline.notebooks[name];
        check = compareNotebook(name, results, base, { strictTime: o.strictTime, timeFactor: o.timeFactor, durationSec: run.durationSec });
        if (!results && base) check.note = "note" in r ? r.note : undefined;
        if (!results && !base && "note" in r && o.requireBaseline) check = { notebook: name, status: "no-results", rows: [], note: r.note };
        if (o.updateBaseline && results) baselineUpdates.set(name, { results, durationSec: run.durationSec });
      }
    }
    const checkFailed =
      !o.updateBaseline &&
      check !== undefined &&
      (check.status === "regression" || check.status === "no-results" || (check.status === "no-baseline" && o.requireBaseline));
    const verdict = run.status !== "ok" ? `✗ ${run.status}` : checkFailed ? `✗ ${check?.status}` : "✓ ok";
    observer.done(
      `${verdict.padEnd(10)} ${name} (${fmtMs(run.durationSec * 1000)}, ${run.executedCells}/${run.codeCells} cells${check ? `, check: ${check.status}` : ""})`,
    );
    if (check?.note) console.error(`  ${check.note}`);
    printFailure(run);
    byName.set(name, { row: summaryRow(run, check, results?.metrics), check });
    if (run.status !== "ok" || checkFailed) {
      failed = true;
      failedCount++;
    }
    // Only a notebook that did not run stops the series; a check failure is reported at the end.
    return run.status === "ok";
  };

  const { skipped } = await runScheduled(names, deps, parallel ? o.jobs : 1, o.keepGoing, runOne, exclusive);
  if (skipped.length > 0) {
    console.error(`stopped the series: ${skipped.length} notebook(s) not run (${skipped.join(", ")}); use --keep-going to run them anyway.`);
  }
  // Summary and checks in series order, whatever order the notebooks finished in.
  for (const name of names) {
    const r = byName.get(name);
    if (!r) continue;
    rows.push(r.row);
    if (r.check) checks.push(r.check);
  }

  if (checks.length > 0) {
    const rel = path.relative(process.cwd(), baselineFile);
    console.log(`\nRegression check against ${rel.startsWith("..") ? baselineFile : rel}:\n`);
    console.log(formatDiffTable(checks));
  }
  if (o.updateBaseline) {
    const notUpdated = names.filter((n) => byName.has(n) && !baselineUpdates.has(n));
    if (baselineUpdates.size === 0) {
      // Nothing new to record: the file (and its updatedAt/recordedWith) stays as it was.
      console.error(`\nbaseline NOT updated: no notebook ran to the end and wrote its results; ${baselineFile} is unchanged.`);
    } else {
      // Machine-specific paths are left out: the baseline is committed.
      const { FMNIST_ARTIFACTS_DIR: _dir, FMNIST_DATA_DIR: _data, ...portable } = o.overrides;
      const recordedWith = { node: process.version, platform: `${process.platform}-${process.arch}`, parameters: portable };
      try {
        await mergeBaseline(baselineFile, o.profile, baselineUpdates, recordedWith);
        console.log(`\nbaseline updated: ${baselineFile} (${[...baselineUpdates.keys()].join(", ")})`);
        if (notUpdated.length > 0) console.error(`baseline entries NOT updated (no results): ${notUpdated.join(", ")}`);
      } catch (err) {
        console.error(`\nbaseline NOT updated: ${(err as Error).message}`);
        failed = true;
      }
    }
  }
  const summary: RunSummary = {
    schema: 1,
    profile: o.profile,
    parameters,
    startedAt: startedAt.toISOString(),
    durationSec: Math.round(performance.now() - t0) / 1000,
    ok: !failed,
    notebooks: rows,
  };
  console.log(`\n${formatSummary(rows)}\n`);
  const summaryFile = path.join(summaryDir, "summary.json");
  writeJsonAtomic(summaryFile, summary);
  console.log(`${failed ? "FAILED" : "all ok"} in ${fmtMs(performance.now() - t0)}; summary: ${summaryFile}`);
  // The plain closing line CI tools read; notebooks skipped after a failure count as failed.
  console.log(`notebooks: ${rows.length - failedCount} passed, ${files.length - rows.length + failedCount} failed`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exitCode = 1;
    },
  );
}
