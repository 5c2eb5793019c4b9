/**
 * What the study notebooks show about models and runs: a model's layers, runs side by side, and the
 * write-ups' figures next to ours. Tables render as HTML in a notebook and as text elsewhere (showTable).
 */
import { describeModel, modelSummary, type ModelName, type ModelOptions, type ModelSummary } from "./models";
import { reportedVsOurs, WRITEUP_REPORTED, type ModelResult } from "./results";
import { showTable } from "./tables";

/** What {@link showModel} returns: the summary it showed and the registry's one-line description. */
export interface ModelSummaryShown extends ModelSummary {
  description: string;
}

/** Shows a registry model's layer table, then its description and parameter count; the model is built only to be described. */
export function showModel(name: ModelName, modelOptions: ModelOptions = {}): ModelSummaryShown {
  const summary = modelSummary(name, modelOptions);
  const description = describeModel(name).description;
  showTable(summary.rows);
  console.log(`${name}: ${description}\n${summary.totalParams.toLocaleString("en-US")} parameters (${summary.trainableParams.toLocaleString("en-US")} trainable)`);
  return { ...summary, description };
}

/** The part of a run the tables read (a training run or a fitted model's record). */
interface RunLike {
  entry: ModelResult;
}

const present = <T>(runs: ReadonlyArray<T | undefined>): T[] => runs.filter((r): r is T => r !== undefined);

/** A figure for a table: whole numbers as they are, others to four decimals; "—" when absent. */
function figure(v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  return Number.isInteger(v) ? String(v) : v.toFixed(4);
}

/**
 * One row per metric a write-up reported for each run (docs/writeups.md), ours beside it and the
 * difference ours − reported. Runs the write-ups give no figure for, and absent runs, are left out.
 * Returns the rows shown.
 */
export function showWriteupComparison(runs: ReadonlyArray<RunLike | undefined>): Record<string, string>[] {
  const rows = present(runs)
    .filter((r) => WRITEUP_REPORTED[r.entry.name] !== undefined)
    .flatMap((r) => reportedVsOurs(r.entry.name, r.entry.metrics))
    .map((c) => ({
      model: c.model,
      source: c.source,
      metric: c.metric,
      reported: figure(c.reported),
      ours: figure(c.ours),
      diff: c.diff === null ? "—" : (c.diff >= 0 ? "+" : "") + figure(c.diff),
    }));
  showTable(rows, { caption: "write-up reported vs ours (diff = ours − reported)" });
  return rows;
}

/** Runs side by side: parameters, validation and test accuracy, test loss, epochs and training time. Returns the rows shown. */
export function showRuns(runs: ReadonlyArray<RunLike | undefined>): Record<string, string | number>[] {
  const rows = present(runs).map(({ entry }) => ({
    model: entry.name,
    params: entry.params,
    val_acc: figure(entry.metrics.val_acc),
    test_acc: figure(entry.metrics.test_acc),
    test_loss: figure(entry.metrics.test_loss),
    epochs: entry.metrics.epochs ?? "—",
    train_sec: entry.trainSec.toFixed(0),
  }));
  showTable(rows);
  return rows;
}
