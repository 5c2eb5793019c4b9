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
} from "./runner/baseline";
import type { ResultsFile } from "../lib/src/results";
import { executeNotebook, type NotebookRun } from "./runner/execute";
import { fmtMs, installKernelCleanup } from "./runner/kernel-client";
import { Progress } from "./runner/progress";
import { formatSummary, summaryRow, type RunSummary, type SummaryRow } from "./runner/summary";
import { writeJsonAtomic } from "./runner/atomic";
import { readDependencies, readExclusive, runScheduled } from "./runner/schedule";
import { LockHeldError, describeOwner, lockWithin, tryLock, type Lock } from "./runner/lock";
import {
  RUNNER_ONLY_ENV,
  formatPlan,
  mergePartResults,
  partResultsPath,
  planShards,
  resolveShard,
  shardTasks,
  type PartResults,
  type ShardPlan,
  type ShardSpec,
  type Unit,
} from "./runner/shard";
import { readProvenance } from "./runner/provenance";
import { runMain } from "./cli-main";

const REPO_ROOT = path.resolve(__dirname, "..");

/** One notebook (or part of one) this run executes; "support" = a dependency rebuilt for this shard's own notebooks. */
type Task = Pick<Unit, "id" | "notebook" | "file" | "part" | "env" | "after" | "order"> & { role: "own" | "support" };
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
  updates: Map<string, { results: ResultsFile; durationSec: number }>,
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
  let shard: { spec: ShardSpec; plan: ShardPlan } | undefined;
  try {
    const spec = resolveShard(o.shard, o.shardCount, process.env);
    if (spec) {
      if (o.updateBaseline) throw new Error("sharded runs and --update-baseline exclude each other: record a baseline from one machine's run.");
      if (o.inPlace) throw new Error("sharded runs and --in-place exclude each other.");
      const baseline = readBaseline(o.baselineFile ?? path.join(REPO_ROOT, "notebooks", "baselines", `${o.profile}.json`), o.profile);
      shard = { spec, plan: planShards(files, baseline, spec.count) };
    }
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${/--shard|SHARD|JOB_COMPLETION_INDEX/.test((err as Error).message) ? USAGE : ""}`.trimEnd());
    return 2;
  }
  if (o.list) {
    if (shard) console.log(formatPlan(shard.plan, o.profile, shard.spec.index, o.baselineFile ? path.relative(process.cwd(), o.baselineFile) : undefined));
    else files.forEach((f) => console.log(f));
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
    return await runLocked(o, files, artifactsDir, outputDir, summaryDir, baselineFile, checking, shard);
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
  shard?: { spec: ShardSpec; plan: ShardPlan },
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
  // Runner-only variables (the shard) never reach a kernel: lib rejects FMNIST_* variables it does not know.
  const baseEnv: NodeJS.ProcessEnv = { ...process.env };
  for (const k of RUNNER_ONLY_ENV) delete baseEnv[k];
  const env: NodeJS.ProcessEnv = { ...baseEnv, ...parameters };
  const aloneEnv: NodeJS.ProcessEnv = { ...baseEnv, ...aloneParameters };

  const startedAt = new Date();
  const t0 = performance.now();
  const progress = new Progress();
  const rows: SummaryRow[] = [];
  const supportRows: SummaryRow[] = [];
  const checks: NotebookCheck[] = [];
  /** Baseline entries to write (--update-baseline): notebooks that ran and wrote results. */
  const baselineUpdates = new Map<string, { results: ResultsFile; durationSec: number }>();
  let failed = false;
  let failedCount = 0;

  // What to run: every selected notebook whole, or this shard's share of the plan (parts and rebuilt dependencies).
  let tasks: Task[];
  let deps: Map<string, string[]>;
  let exclusive: Set<string>;
  try {
    exclusive = readExclusive(files);
    if (shard) {
      tasks = shardTasks(shard.plan.shards[shard.spec.index - 1]).map(({ unit, role }) => ({ ...unit, role }));
      deps = new Map(tasks.map((t) => [t.id, t.after]));
    } else {
      const d = readDependencies(files);
      tasks = files.map((file, i) => {
        const notebook = path.basename(file, ".ipynb");
        return { id: notebook, notebook, file, env: {}, after: d.get(notebook) ?? [], role: "own" as const, order: i };
      });
      deps = d;
    }
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  console.error(
    `running ${tasks.length} notebook(s)${shard ? ` (shard ${shard.spec.index}/${shard.spec.count}, plan ${shard.plan.fingerprint})` : ""}, profile ${o.profile}${Object.keys(o.overrides).length ? `, ${Object.entries(o.overrides).map(([k, v]) => `${k}=${v}`).join(" ")}` : ""}; executed copies → ${o.inPlace ? "in place" : outputDir}`,
  );
  if (shard && tasks.length === 0) console.error(`shard ${shard.spec.index}/${shard.spec.count} has nothing to run in this plan.`);
  const ids = tasks.map((t) => t.id);
  const taskById = new Map(tasks.map((t) => [t.id, t]));
  const exclusiveIds = new Set(tasks.filter((t) => exclusive.has(t.notebook)).map((t) => t.id));
  const byName = new Map<string, { row: SummaryRow; check?: NotebookCheck }>();
  const parallel = o.jobs > 1 && tasks.length > 1;
  if (parallel) console.error(`up to ${o.jobs} notebooks at once (one kernel each)${exclusiveIds.size ? `; ${[...exclusiveIds].join(", ")} alone, with every core` : ""}`);
  /** Results of the parts this run finished, per notebook, for the merged results file. */
  const partsDone = new Map<string, Map<string, PartResults>>();

  const runOne = async (id: string, i: number): Promise<boolean> => {
    const task = taskById.get(id) as Task;
    const name = task.notebook;
    // Several notebooks at once: plain lines tagged with the notebook, never a redrawn status line.
    const observer = parallel ? new Progress(process.stderr, false, 60_000, `[${id}] `, t0) : progress;
    observer.notebook(i + 1, tasks.length, id);
    const notebookStart = new Date();
    const alone = exclusiveIds.has(id);
    const outputPath = o.inPlace
      ? task.file
      : task.role === "support"
        ? path.join(outputDir, "support", path.basename(task.file))
        : task.part !== undefined
          ? path.join(outputDir, "parts", `${name}.${task.part}.ipynb`)
          : path.join(outputDir, path.basename(task.file));
    const run = await executeNotebook(task.file, {
      outputPath,
      env: { ...(alone ? aloneEnv : env), ...task.env },
      parameters: { ...(alone ? aloneParameters : parameters), ...task.env },
      cellTimeoutMs: o.cellTimeoutSec * 1000,
      notebookBudgetMs: o.notebookTimeoutSec * 1000,
      startTimeoutMs: o.kernelTimeoutSec * 1000,
      observer,
    });
    let check: NotebookCheck | undefined;
    let results: ResultsFile | undefined;
    if (run.status === "ok") {
      const r = readResults(artifactsDir, name, { profile: o.profile, notBefore: notebookStart });
      results = "results" in r ? r.results : undefined;
      if (results && task.part !== undefined) {
        // Keep the part's own file, and give later notebooks here the notebook's file merged from the parts run so far.
        writeJsonAtomic(partResultsPath(artifactsDir, name, task.part), results);
        const done = partsDone.get(name) ?? new Map<string, PartResults>();
        done.set(task.part, results as PartResults);
        partsDone.set(name, done);
        const order = tasks.filter((t) => t.notebook === name && done.has(t.part as string)).map((t) => t.part as string);
        writeJsonAtomic(path.join(artifactsDir, "results", `${name}.json`), mergePartResults(order.map((p) => ({ part: p, results: done.get(p) as PartResults }))));
      }
      if (checking && task.role === "own") {
        let base = baseline.notebooks[name];
        // A part is checked on the metrics it wrote; `npm run merge` checks the whole notebook.
        if (base && task.part !== undefined && results) {
          base = { metrics: Object.fromEntries(Object.entries(base.metrics).filter(([k]) => k in (results as ResultsFile).metrics)) };
        }
        check = compareNotebook(id, results, base, { strictTime: o.strictTime, timeFactor: o.timeFactor, durationSec: task.part === undefined ? run.durationSec : undefined });
        if (!results && base) check.note = "note" in r ? r.note : undefined;
        if (!results && !base && "note" in r && o.requireBaseline) check = { notebook: id, status: "no-results", rows: [], note: r.note };
        if (o.updateBaseline && results) baselineUpdates.set(name, { results, durationSec: run.durationSec });
      }
    }
    const checkFailed =
      !o.updateBaseline &&
      check !== undefined &&
      (check.status === "regression" || check.status === "no-results" || (check.status === "no-baseline" && o.requireBaseline));
    const verdict = run.status !== "ok" ? `✗ ${run.status}` : checkFailed ? `✗ ${check?.status}` : "✓ ok";
    observer.done(
      `${verdict.padEnd(10)} ${id}${task.role === "support" ? " (rebuilt for its dependents here)" : ""} (${fmtMs(run.durationSec * 1000)}, ${run.executedCells}/${run.codeCells} cells${check ? `, check: ${check.status}` : ""})`,
    );
    if (check?.note) console.error(`  ${check.note}`);
    printFailure(run);
    const row: SummaryRow = { ...summaryRow(run, check, results?.metrics), notebook: name, ...(task.part !== undefined ? { part: task.part } : {}) };
    byName.set(id, { row, check });
    if (run.status !== "ok" || checkFailed) {
      failed = true;
      failedCount++;
    }
    // Only a notebook that did not run stops the series; a check failure is reported at the end.
    return run.status === "ok";
  };

  const { skipped } = await runScheduled(ids, deps, parallel ? o.jobs : 1, o.keepGoing, runOne, exclusiveIds);
  if (skipped.length > 0) {
    console.error(`stopped the series: ${skipped.length} notebook(s) not run (${skipped.join(", ")}); use --keep-going to run them anyway.`);
  }
  // Summary and checks in series order, whatever order the notebooks finished in.
  for (const id of ids) {
    const r = byName.get(id);
    if (!r) continue;
    if (taskById.get(id)?.role === "support") supportRows.push(r.row);
    else rows.push(r.row);
    if (r.check) checks.push(r.check);
  }

  if (checks.length > 0) {
    const rel = path.relative(process.cwd(), baselineFile);
    console.log(`\nRegression check against ${rel.startsWith("..") ? baselineFile : rel}:\n`);
    console.log(formatDiffTable(checks));
  }
  if (o.updateBaseline) {
    const notUpdated = ids.filter((n) => byName.has(n) && !baselineUpdates.has(n));
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
    provenance: readProvenance(REPO_ROOT),
    ...(shard
      ? {
          shard: {
            index: shard.spec.index,
            count: shard.spec.count,
            plan: shard.plan.fingerprint,
            own: shard.plan.shards[shard.spec.index - 1].own.map((u) => u.id),
            support: shard.plan.shards[shard.spec.index - 1].support.map((u) => u.id),
            final: shard.plan.final.map((u) => u.id),
            skipped,
          },
          support: supportRows,
        }
      : {}),
  };
  console.log(`\n${formatSummary(rows)}\n`);
  const summaryFile = path.join(summaryDir, "summary.json");
  writeJsonAtomic(summaryFile, summary);
  console.log(`${failed ? "FAILED" : "all ok"} in ${fmtMs(performance.now() - t0)}; summary: ${summaryFile}`);
  // The plain closing line CI tools read; notebooks skipped after a failure count as failed.
  console.log(`notebooks: ${rows.length + supportRows.length - failedCount} passed, ${tasks.length - rows.length - supportRows.length + failedCount} failed`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  // main reads its own arguments (usage and --help included); the entry point adds the exit code and one-line errors.
  runMain({ name: "run-notebooks", usage: "", parse: (argv) => argv, run: main });
}
