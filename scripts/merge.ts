// `npm run merge -- --out DIR SHARD_DIR...`: combines the artifacts folders of a sharded run (`--shard I/N` on N
// machines) into one artifacts tree, as if one machine had run every notebook: executed notebooks (a split
// notebook's parts merged into one), results files (parts merged), models, splits, stored search trials. Then it runs the plan's final
// stage (notebooks that read every other notebook's results, e.g. 11-evaluation) on the merged tree, checks every
// notebook against the baseline as a single run would, and writes one summary.json, which `npm run report` reads.
// It refuses, naming the difference, shards that do not belong together.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { compareNotebook, formatDiffTable, readBaseline, type NotebookCheck, type Profile } from "./runner/baseline";
import type { ResultsFile } from "../lib/src/results";
import { writeJsonAtomic } from "./runner/atomic";
import { readNotebook, writeNotebook, type Cell, type Notebook } from "./runner/nbformat";
import { RUN_METADATA_KEY, CELL_METADATA_KEY } from "./runner/execute";
import { mergePartResults, partResultsPath, planShards, unitId, type PartResults } from "./runner/shard";
import { formatSummary, keyMetrics, type RunSummary, type SummaryRow } from "./runner/summary";
import { selectNotebooks, takeRunLocks } from "./run-notebooks";
import { readArgs } from "./cli-args";
import { runMain } from "./cli-main";
import { deterministicPart, listStoredSearches, searchDir } from "../lib/src/search-store";
import type { TrialResult } from "../lib/src/tuning";

const REPO_ROOT = path.resolve(__dirname, "..");

export const MERGE_USAGE = `usage: npm run merge -- --out DIR [options] SHARD_DIR...

Combines the artifacts folders of a sharded run (each written by \`run-notebooks --shard I/N\`, holding
executed/<profile>/summary.json) into DIR, runs the plan's final stage there, checks every notebook against the
baseline and writes DIR/executed/<profile>/summary.json (then: npm run report -- --artifacts DIR --profile P).

  --out DIR           merged artifacts folder (created; must be empty)
  --allow-failed      merge even when a shard failed or did not run a notebook (marked failed in the summary)
  --baseline FILE     baseline to check against (default notebooks/baselines/<profile>.json)
  --notebooks-dir DIR notebooks the shards ran (default notebooks/)
  --no-final          do not run the final stage (its notebooks are then listed as not run, and the merge fails)
  -h, --help          this text`;

/** Parsed merge options. */
export interface MergeOptions {
  out: string;
  shardDirs: string[];
  allowFailed: boolean;
  baselineFile?: string;
  notebooksDir: string;
  runFinal: boolean;
}

/** A refusal: the shards do not make one run. */
export class MergeRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MergeRefusal";
  }
}

export function parseMergeArgs(argv: string[], cwd = process.cwd()): MergeOptions | "help" {
  const o: MergeOptions = { out: "", shardDirs: [], allowFailed: false, notebooksDir: path.join(REPO_ROOT, "notebooks"), runFinal: true };
  for (const { flag, value } of readArgs(argv)) {
    switch (flag) {
      case "--out": o.out = path.resolve(cwd, value()); break;
      case "--allow-failed": o.allowFailed = true; break;
      case "--baseline": o.baselineFile = path.resolve(cwd, value()); break;
      case "--notebooks-dir": o.notebooksDir = path.resolve(cwd, value()); break;
      case "--no-final": o.runFinal = false; break;
      case "-h":
      case "--help": return "help";
      default:
        if (flag.startsWith("-")) throw new Error(`unknown option "${flag}".`);
        o.shardDirs.push(path.resolve(cwd, flag));
    }
  }
  if (!o.out) throw new Error("--out DIR is required.");
  if (o.shardDirs.length === 0) throw new Error("no shard folders given.");
  return o;
}

/** One shard's folder and summary. */
interface ShardRun {
  dir: string;
  summaryFile: string;
  summary: RunSummary & { shard: NonNullable<RunSummary["shard"]> };
}

/** Finds and reads a shard's summary: <dir>/executed/<profile>/summary.json (exactly one profile). */
function readShard(dir: string): ShardRun {
  if (!fs.existsSync(dir)) throw new MergeRefusal(`${dir}: no such folder.`);
  const executed = path.join(dir, "executed");
  const candidates = fs.existsSync(executed)
    ? fs.readdirSync(executed).map((p) => path.join(executed, p, "summary.json")).filter((f) => fs.existsSync(f))
    : [];
  if (candidates.length !== 1) {
    throw new MergeRefusal(`${dir}: expected one executed/<profile>/summary.json written by run-notebooks --shard, found ${candidates.length}.`);
  }
  const summaryFile = candidates[0];
  let summary: RunSummary;
  try {
    summary = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as RunSummary;
  } catch (err) {
    throw new MergeRefusal(`${summaryFile}: not valid JSON (${(err as Error).message}).`);
  }
  if (!summary.shard) throw new MergeRefusal(`${summaryFile}: not a sharded run (no "shard" entry): run it with --shard I/N.`);
  return { dir, summaryFile, summary: summary as ShardRun["summary"] };
}

/** Parameters that name this machine's folders or that the runner sets for itself: not compared. */
const MACHINE_PARAMETERS = new Set(["FMNIST_ARTIFACTS_DIR", "FMNIST_DATA_DIR", "FMNIST_UNDER_TEST"]);

function portableParameters(p: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(p).filter(([k]) => !MACHINE_PARAMETERS.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/** Names the first difference between two flat records, or undefined. */
function difference(a: Record<string, unknown>, b: Record<string, unknown>): string | undefined {
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k}: ${JSON.stringify(a[k]) ?? "unset"} vs ${JSON.stringify(b[k]) ?? "unset"}`;
  }
  return undefined;
}

/** Checks that the shards make one run. Throws MergeRefusal naming the first difference. */
export function checkShardsBelongTogether(shards: ShardRun[]): void {
  const first = shards[0];
  const name = (s: ShardRun) => `shard ${s.summary.shard.index}/${s.summary.shard.count} (${s.dir})`;
  for (const s of shards.slice(1)) {
    const a = first.summary;
    const b = s.summary;
    if (a.profile !== b.profile) throw new MergeRefusal(`${name(first)} ran profile ${a.profile}, ${name(s)} profile ${b.profile}.`);
    if (a.shard.count !== b.shard.count) throw new MergeRefusal(`${name(first)} is one of ${a.shard.count} shards, ${name(s)} one of ${b.shard.count}.`);
    const pa = a.provenance;
    const pb = b.provenance;
    if (!pa || !pb) throw new MergeRefusal(`${!pa ? name(first) : name(s)} records no provenance (commit, versions): re-run it with this runner.`);
    if (pa.commit !== pb.commit) throw new MergeRefusal(`shards of different commits: ${name(first)} ran ${pa.commit}, ${name(s)} ${pb.commit}.`);
    if (pa.changes !== pb.changes) {
      throw new MergeRefusal(`shards of different uncommitted changes at commit ${pa.commit}: ${name(first)} ${pa.changes ?? "none"}, ${name(s)} ${pb.changes ?? "none"}.`);
    }
    const v = difference(pa.versions, pb.versions);
    if (v) throw new MergeRefusal(`shards with different engine versions: ${name(first)} vs ${name(s)}: ${v}.`);
    const p = difference(portableParameters(a.parameters), portableParameters(b.parameters));
    if (p) throw new MergeRefusal(`shards with different configs or kernel settings: ${name(first)} vs ${name(s)}: ${p}.`);
    if (a.shard.plan !== b.shard.plan) throw new MergeRefusal(`shards of different plans: ${name(first)} has plan ${a.shard.plan}, ${name(s)} plan ${b.shard.plan}.`);
  }
  const count = first.summary.shard.count;
  const seen = new Map<number, ShardRun>();
  for (const s of shards) {
    const other = seen.get(s.summary.shard.index);
    if (other) throw new MergeRefusal(`shard ${s.summary.shard.index}/${count} given twice: ${other.dir} and ${s.dir}.`);
    seen.set(s.summary.shard.index, s);
  }
  const missing = Array.from({ length: count }, (_, k) => k + 1).filter((k) => !seen.has(k));
  if (missing.length > 0) throw new MergeRefusal(`shard(s) ${missing.map((k) => `${k}/${count}`).join(", ")} missing: give every shard's folder.`);
}

/**
 * Merges the executed copies of a notebook's parts into one: each code cell gets the distinct outputs of every
 * part in part order (a cell only one part computed shows that part's output; setup cells whose output is the
 * same everywhere show it once), with the execution count and timing of the part whose output comes first.
 */
export function mergePartNotebooks(parts: Array<{ part: string; shard: number; nb: Notebook }>): Notebook {
  const base = structuredClone(parts[0].nb);
  for (const { part, nb } of parts.slice(1)) {
    const same = nb.cells.length === base.cells.length && nb.cells.every((c, i) => c.id === base.cells[i].id && JSON.stringify(c.source) === JSON.stringify(base.cells[i].source));
    if (!same) throw new MergeRefusal(`parts ${parts[0].part} and ${part} of one notebook ran different versions of it.`);
  }
  base.cells.forEach((cell: Cell, i) => {
    if (cell.cell_type !== "code") return;
    const outputs: NonNullable<Cell["outputs"]> = [];
    const seen = new Set<string>();
    let source: Cell | undefined;
    for (const { nb } of parts) {
      const c = nb.cells[i];
      for (const o of c.outputs ?? []) {
        const key = JSON.stringify(o);
        if (seen.has(key)) continue;
        seen.add(key);
        outputs.push(o);
        source ??= c;
      }
    }
    source ??= parts[0].nb.cells[i];
    cell.outputs = outputs;
    cell.execution_count = source.execution_count ?? null;
    if (source.metadata.execution !== undefined) cell.metadata.execution = source.metadata.execution;
    if (source.metadata[CELL_METADATA_KEY] !== undefined) cell.metadata[CELL_METADATA_KEY] = source.metadata[CELL_METADATA_KEY];
  });
  const runs: Array<Record<string, unknown>> = parts.map(({ part, shard, nb }) => ({ part, shard, ...((nb.metadata[RUN_METADATA_KEY] ?? {}) as Record<string, unknown>) }));
  const failedRun = runs.find((r) => r.status !== "ok");
  base.metadata[RUN_METADATA_KEY] = {
    status: failedRun ? failedRun.status : "ok",
    duration_sec: Math.round(runs.reduce((s, r) => s + (typeof r.duration_sec === "number" ? r.duration_sec : 0), 0) * 1000) / 1000,
    parts: runs,
  };
  return base;
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true, errorOnExist: true, force: false });
}

/** Runs the merge; resolves to the exit code. Refusals throw MergeRefusal. */
export async function merge(o: MergeOptions): Promise<number> {
  const shards = o.shardDirs.map(readShard);
  checkShardsBelongTogether(shards);
  shards.sort((a, b) => a.summary.shard.index - b.summary.shard.index);
  const profile = shards[0].summary.profile as Profile;
  const count = shards[0].summary.shard.count;
  const baselineFile = o.baselineFile ?? path.join(REPO_ROOT, "notebooks", "baselines", `${profile}.json`);
  const baseline = readBaseline(baselineFile, profile);

  // The plan, recomputed here, must be the one the shards ran (same notebooks, same baseline durations).
  const files = selectNotebooks([], o.notebooksDir);
  const planned = planShards(files.filter((f) => planIncludes(shards, f)), baseline, count);
  if (planned.fingerprint !== shards[0].summary.shard.plan) {
    throw new MergeRefusal(
      `the shards ran plan ${shards[0].summary.shard.plan}, but this checkout plans ${planned.fingerprint} for ${count} shards: merge with the same commit (notebooks and ${path.relative(REPO_ROOT, baselineFile)}) the shards ran.`,
    );
  }

  // Every planned unit reported by exactly one shard, the one the plan gave it to.
  const rowOf = new Map<string, { shard: ShardRun; row: SummaryRow }>();
  const problems: string[] = [];
  for (const s of shards) {
    for (const row of s.summary.notebooks) {
      const id = unitId(row.notebook, row.part);
      const prev = rowOf.get(id);
      if (prev) throw new MergeRefusal(`${id} present twice: in shard ${prev.shard.summary.shard.index}/${count} (${prev.shard.dir}) and shard ${s.summary.shard.index}/${count} (${s.dir}).`);
      if (!s.summary.shard.own.includes(id)) throw new MergeRefusal(`${id} is in shard ${s.summary.shard.index}/${count} (${s.dir}), which the plan did not give it to.`);
      rowOf.set(id, { shard: s, row });
    }
  }
  for (const s of shards) {
    if (!s.summary.ok) problems.push(`shard ${s.summary.shard.index}/${count} (${s.dir}) failed`);
    for (const id of s.summary.shard.own) if (!rowOf.has(id)) problems.push(`${id} missing: shard ${s.summary.shard.index}/${count} did not run it`);
  }
  for (const [id, { row }] of rowOf) if (row.status !== "ok") problems.push(`${id} ${row.status} in its shard`);
  if (problems.length > 0 && !o.allowFailed) throw new MergeRefusal(`${problems.join("; ")}. Re-run the shard, or pass --allow-failed to merge anyway (marked failed).`);

  // One merged tree.
  if (fs.existsSync(o.out) && fs.readdirSync(o.out).length > 0) throw new MergeRefusal(`${o.out} is not empty: give a new folder to --out.`);
  fs.mkdirSync(o.out, { recursive: true });
  const executedOut = path.join(o.out, "executed", profile);
  const resultsOut = path.join(o.out, "results");
  fs.mkdirSync(executedOut, { recursive: true });
  fs.mkdirSync(resultsOut, { recursive: true });
  const taken = takeRunLocks([o.out]);
  if ("error" in taken) throw new MergeRefusal(taken.error);
  const rows: SummaryRow[] = [];
  const checks: NotebookCheck[] = [];
  let failed = problems.length > 0;
  try {
    const executedIn = (s: ShardRun) => path.dirname(s.summaryFile);
    const copyModels = (s: ShardRun, results: PartResults | undefined) => {
      for (const m of results?.models ?? []) {
        const from = path.join(s.dir, "models", m.name);
        const to = path.join(o.out, "models", m.name);
        if (fs.existsSync(from) && !fs.existsSync(to)) copyDir(from, to);
      }
    };
    const readJson = <T>(file: string): T | undefined => (fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as T) : undefined);
    // Splits are rebuilt identically by every shard that needs one: copy each once, refuse if two differ.
    for (const s of shards) {
      const dir = path.join(s.dir, "splits");
      if (!fs.existsSync(dir)) continue;
      for (const f of fs.readdirSync(dir)) {
        const to = path.join(o.out, "splits", f);
        const text = fs.readFileSync(path.join(dir, f));
        if (fs.existsSync(to)) {
          if (!fs.readFileSync(to).equals(text)) throw new MergeRefusal(`split ${f} differs between shards (${s.dir}): the shards did not run the same split.`);
        } else {
          fs.mkdirSync(path.dirname(to), { recursive: true });
          fs.writeFileSync(to, text);
        }
      }
    }
    // Stored search trials (notebook 10's, npm run search's): one file per trial, the same result wherever it was
    // trained; copied so that notebook 10 re-run on the merged tree reads its trials instead of training them.
    for (const s of shards) {
      for (const [id, files] of listStoredSearches(s.dir)) {
        for (const file of [path.join(searchDir(s.dir, id), "search.json"), ...files]) {
          if (!fs.existsSync(file)) continue;
          const to = path.join(searchDir(o.out, id), path.basename(file));
          if (fs.existsSync(to)) {
            const [a, b] = [file, to].map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as { result?: TrialResult });
            if (a.result && b.result && deterministicPart(a.result) !== deterministicPart(b.result)) {
              throw new MergeRefusal(`stored trial ${path.basename(file)} of search ${id} differs between shards (${s.dir}): the same trial must give the same result.`);
            }
          } else {
            fs.mkdirSync(path.dirname(to), { recursive: true });
            fs.writeFileSync(to, fs.readFileSync(file));
          }
        }
      }
    }
    for (const u of planned.shards.flatMap((s) => s.own).sort((a, b) => a.order - b.order)) {
      if (u.part !== undefined) continue;
      const got = rowOf.get(u.id);
      if (!got) {
        rows.push(notRun(u.id, "its shard did not run it"));
        continue;
      }
      const { shard: s, row } = got;
      const nbFrom = path.join(executedIn(s), `${u.notebook}.ipynb`);
      if (fs.existsSync(nbFrom)) fs.copyFileSync(nbFrom, path.join(executedOut, `${u.notebook}.ipynb`));
      const results = readJson<PartResults>(path.join(s.dir, "results", `${u.notebook}.json`));
      if (results && row.status === "ok") writeJsonAtomic(path.join(resultsOut, `${u.notebook}.json`), results);
      copyModels(s, results);
      rows.push({ ...row, output: path.join(executedOut, `${u.notebook}.ipynb`) });
    }
    // Split notebooks: results and executed copies merged from their parts.
    const splitNames = [...new Set(planned.shards.flatMap((s) => s.own).filter((u) => u.part !== undefined).map((u) => u.notebook))];
    for (const name of splitNames) {
      const partOrder = partsOrder(files, name);
      const got = partOrder.map((p) => ({ part: p, got: rowOf.get(unitId(name, p)) }));
      const missing = got.filter((g) => !g.got || g.got.row.status !== "ok");
      const results = got
        .filter((g) => g.got && g.got.row.status === "ok")
        .map((g) => ({ part: g.part, shard: g.got!.shard, results: readJson<PartResults>(partResultsPath(g.got!.shard.dir, name, g.part)) }));
      const noFile = results.filter((r) => !r.results);
      if (noFile.length > 0) throw new MergeRefusal(`${name}: part ${noFile[0].part} has no results file ${partResultsPath(noFile[0].shard.dir, name, noFile[0].part)}.`);
      if (missing.length === 0) {
        const merged = mergePartResults(results.map((r) => ({ part: r.part, results: r.results as PartResults })));
        writeJsonAtomic(path.join(resultsOut, `${name}.json`), merged);
      }
      for (const r of results) copyModels(r.shard, r.results);
      const nbs = got
        .filter((g) => g.got && fs.existsSync(path.join(executedIn(g.got.shard), "parts", `${name}.${g.part}.ipynb`)))
        .map((g) => ({ part: g.part, shard: g.got!.shard.summary.shard.index, nb: readNotebook(path.join(executedIn(g.got!.shard), "parts", `${name}.${g.part}.ipynb`)) }));
      if (nbs.length > 0) writeNotebook(path.join(executedOut, `${name}.ipynb`), mergePartNotebooks(nbs));
      const partRows = got.filter((g) => g.got).map((g) => g.got!.row);
      const bad = partRows.find((r) => r.status !== "ok");
      rows.push({
        notebook: name,
        status: missing.length === 0 ? "ok" : bad ? bad.status : "error",
        durationSec: Math.round(partRows.reduce((sum, r) => sum + r.durationSec, 0) * 1000) / 1000,
        codeCells: partRows[0]?.codeCells ?? 0,
        executedCells: Math.max(0, ...partRows.map((r) => r.executedCells)),
        kernelStartSec: partRows.length ? Math.max(...partRows.map((r) => r.kernelStartSec ?? 0)) : null,
        medianCellSec: null,
        keyMetrics: {},
        ...(missing.length > 0 ? { failure: bad?.failure ?? { cell: 0, codeCell: 0, message: `part(s) ${missing.map((m) => m.part).join(", ")} not run` } } : {}),
        output: path.join(executedOut, `${name}.ipynb`),
      });
    }
  } finally {
    for (const l of taken.locks) l.release();
  }

  // The final stage, on the merged tree, by the runner (its own lock, kernels and check).
  let finalRows: SummaryRow[] = [];
  const finalIds = planned.final.map((u) => u.id);
  if (finalIds.length > 0 && o.runFinal && !failed) {
    const sets = Object.entries(portableParameters(shards[0].summary.parameters))
      .filter(([k]) => k !== "FMNIST_PROFILE")
      .flatMap(([k, v]) => ["--set", `${k.replace(/^FMNIST_/, "")}=${v}`]);
    const args = [
      path.join(REPO_ROOT, "scripts", "run-notebooks.ts"),
      "--profile", profile, "--check", "--notebooks-dir", o.notebooksDir, "--baseline", baselineFile,
      "--set", `ARTIFACTS_DIR=${o.out}`, "--output", path.join(o.out, "executed", `.final-${profile}`), ...sets, ...finalIds,
    ];
    console.error(`final stage on the merged tree: ${finalIds.join(", ")}`);
    const r = spawnSync(process.execPath, ["--import", "tsx", ...args], { cwd: REPO_ROOT, stdio: ["ignore", "inherit", "inherit"], env: withoutShardEnv(process.env) });
    const finalDir = path.join(o.out, "executed", `.final-${profile}`);
    const finalSummary = fs.existsSync(path.join(finalDir, "summary.json")) ? (JSON.parse(fs.readFileSync(path.join(finalDir, "summary.json"), "utf8")) as RunSummary) : undefined;
    finalRows = (finalSummary?.notebooks ?? []).map((row) => {
      const from = path.join(finalDir, `${row.notebook}.ipynb`);
      const to = path.join(executedOut, `${row.notebook}.ipynb`);
      if (fs.existsSync(from)) fs.renameSync(from, to);
      return { ...row, output: to };
    });
    fs.rmSync(finalDir, { recursive: true, force: true });
    if (r.status !== 0) failed = true;
  }
  for (const id of finalIds) if (!finalRows.some((r) => r.notebook === id)) finalRows.push(notRun(id, o.runFinal ? "the final stage did not run it" : "--no-final"));

  // One check, as a single run's: every notebook's merged results against the baseline.
  const all = [...rows, ...finalRows].sort((a, b) => files.findIndex((f) => path.basename(f, ".ipynb") === a.notebook) - files.findIndex((f) => path.basename(f, ".ipynb") === b.notebook));
  for (const row of all) {
    const resultsFile = path.join(resultsOut, `${row.notebook}.json`);
    const results = row.status === "ok" && fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, "utf8")) as ResultsFile) : undefined;
    const check = compareNotebook(row.notebook, results, baseline.notebooks[row.notebook], { durationSec: row.durationSec });
    if (!results && row.status === "ok") check.status = "no-results";
    if (row.status === "ok") {
      checks.push(check);
      row.check = check.status;
      row.keyMetrics = keyMetrics(results?.metrics);
      if (check.status === "regression" || check.status === "no-results") failed = true;
    } else failed = true;
  }
  const starts = shards.map((s) => Date.parse(s.summary.startedAt));
  const ends = shards.map((s) => Date.parse(s.summary.startedAt) + s.summary.durationSec * 1000);
  const summary: RunSummary = {
    schema: 1,
    profile,
    parameters: { ...shards[0].summary.parameters, FMNIST_ARTIFACTS_DIR: o.out },
    startedAt: new Date(Math.min(...starts)).toISOString(),
    durationSec: Math.round(Math.max(...ends) - Math.min(...starts)) / 1000 + finalRows.reduce((s, r) => s + r.durationSec, 0),
    ok: !failed,
    notebooks: all,
    provenance: shards[0].summary.provenance,
    merged: {
      count,
      plan: planned.fingerprint,
      allowFailed: o.allowFailed,
      shards: shards.map((s) => ({ index: s.summary.shard.index, dir: s.dir, ok: s.summary.ok, startedAt: s.summary.startedAt, durationSec: s.summary.durationSec })),
      final: finalIds,
    },
  };
  if (checks.length > 0) console.log(`\nRegression check against ${path.relative(process.cwd(), baselineFile)}:\n\n${formatDiffTable(checks)}`);
  console.log(`\n${formatSummary(all)}\n`);
  const summaryFile = path.join(executedOut, "summary.json");
  writeJsonAtomic(summaryFile, summary);
  if (problems.length > 0) console.error(`merged with --allow-failed: ${problems.join("; ")}`);
  console.log(`${failed ? "FAILED" : "all ok"}: ${count} shard(s) merged into ${o.out}; summary: ${summaryFile}`);
  console.log(`notebooks: ${all.filter((r) => r.status === "ok" && (r.check === undefined || r.check === "pass" || r.check === "no-baseline")).length} passed, ${all.filter((r) => !(r.status === "ok" && (r.check === undefined || r.check === "pass" || r.check === "no-baseline"))).length} failed`);
  return failed ? 1 : 0;
}

/** Whether the shards' plan covered this notebook file (shards run every notebook unless given names). */
function planIncludes(shards: ShardRun[], file: string): boolean {
  const name = path.basename(file, ".ipynb");
  const s = shards[0].summary.shard;
  return [...shards.flatMap((x) => x.summary.shard.own), ...s.final, ...s.support].some((id) => id.split("/")[0] === name);
}

function partsOrder(files: string[], name: string): string[] {
  const file = files.find((f) => path.basename(f, ".ipynb") === name) as string;
  const parts = (readNotebook(file).metadata as { fmnist?: { parts?: { values?: string[] } } }).fmnist?.parts?.values;
  return parts ?? [];
}

function notRun(notebook: string, why: string): SummaryRow {
  return { notebook, status: "error", durationSec: 0, codeCells: 0, executedCells: 0, kernelStartSec: null, medianCellSec: null, keyMetrics: {}, failure: { cell: 0, codeCell: 0, message: `not run: ${why}` } };
}

function withoutShardEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  delete out.FMNIST_SHARD;
  delete out.FMNIST_SHARD_COUNT;
  delete out.JOB_COMPLETION_INDEX;
  return out;
}

if (require.main === module) {
  runMain({ name: "merge", usage: MERGE_USAGE, parse: (argv) => parseMergeArgs(argv), run: merge, refusal: { type: MergeRefusal, prefix: "merge refused" } });
}
