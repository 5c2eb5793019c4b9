// The end-of-run summary: a table (notebook, status, duration, cells, key metrics) and its JSON form.
import { formatTable, fmtNum, type NotebookCheck } from "./baseline";
import type { NotebookRun } from "./execute";
import type { Provenance } from "./provenance";

/** One notebook in summary.json. */
export interface SummaryRow {
  notebook: string;
  /** The part of a split notebook this row ran (sharded runs; see runner/shard.ts). */
  part?: string;
  status: NotebookRun["status"];
  /** Regression-check verdict, when checked. */
  check?: NotebookCheck["status"];
  durationSec: number;
  codeCells: number;
  executedCells: number;
  kernelStartSec: number | null;
  /** Median runner-side round trip of the notebook's cells, seconds. */
  medianCellSec: number | null;
  keyMetrics: Record<string, number>;
  failure?: { cell: number; codeCell: number; message: string };
  output?: string;
  /** Pid of the kernel that ran the notebook (gone by the time the summary is written). */
  kernelPid?: number;
}

/** summary.json. */
export interface RunSummary {
  schema: 1;
  profile: string;
  parameters: Record<string, string>;
  startedAt: string;
  durationSec: number;
  ok: boolean;
  notebooks: SummaryRow[];
  /** Commit, engine versions and node of the run (runner/provenance.ts). */
  provenance?: Provenance;
  /** A sharded run's place in the plan: which units it reports, which it rebuilt, what merge runs after. */
  shard?: { index: number; count: number; plan: string; own: string[]; support: string[]; final: string[]; skipped: string[] };
  /** Dependencies a shard rebuilt only for its own notebooks (reported by their owner shard). */
  support?: SummaryRow[];
  /** A merged run (`npm run merge`): the shards it combined. */
  merged?: { count: number; plan: string; allowFailed: boolean; shards: Array<{ index: number; dir: string; ok: boolean; startedAt: string; durationSec: number }>; final: string[] };
}

/**
 * Picks the metrics worth a glance: test accuracies first, then other accuracies, then losses (at most `n`).
 */
export function keyMetrics(metrics: Record<string, number> | undefined, n = 3): Record<string, number> {
  if (!metrics) return {};
  const keys = Object.keys(metrics);
  const rank = (k: string) => (/test_acc$/.test(k) ? 0 : /acc$/.test(k) ? 1 : /loss$/.test(k) ? 2 : 3);
  const picked = keys.filter((k) => rank(k) < 3).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).slice(0, n);
  return Object.fromEntries(picked.map((k) => [k, metrics[k]]));
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Builds a summary row from a run, its check and its results' metrics. */
export function summaryRow(run: NotebookRun, check: NotebookCheck | undefined, metrics: Record<string, number> | undefined): SummaryRow {
  const med = median(run.cellMs);
  return {
    notebook: run.notebook,
    status: run.status,
    ...(check ? { check: check.status } : {}),
    durationSec: run.durationSec,
    codeCells: run.codeCells,
    executedCells: run.executedCells,
    kernelStartSec: run.kernelStartMs === undefined ? null : Math.round(run.kernelStartMs) / 1000,
    medianCellSec: med === null ? null : Math.round(med) / 1000,
    keyMetrics: keyMetrics(metrics),
    ...(run.failure ? { failure: { cell: run.failure.cellNumber, codeCell: run.failure.codeCellNumber, message: run.failure.message } } : {}),
    ...(run.output ? { output: run.output } : {}),
    ...(run.kernelPid !== undefined ? { kernelPid: run.kernelPid } : {}),
  };
}

/** The printed summary table. */
export function formatSummary(rows: SummaryRow[]): string {
  const header = ["notebook", "status", "check", "duration", "cells", "kernel start", "key metrics"];
  const body = rows.map((r) => [
    r.part === undefined ? r.notebook : `${r.notebook}/${r.part}`,
    r.status,
    r.check ?? "—",
    `${r.durationSec.toFixed(1)} s`,
    `${r.executedCells}/${r.codeCells}`,
    r.kernelStartSec === null ? "—" : `${r.kernelStartSec.toFixed(2)} s`,
    Object.entries(r.keyMetrics)
      .map(([k, v]) => `${k}=${fmtNum(v)}`)
      .join(" ") || "—",
  ]);
  return formatTable(header, body);
}
