// Executes one notebook cell by cell on a fresh tslab kernel and records outputs, timings and parameters
// in an executed copy; stops at the first failing cell, on timeout or when the kernel dies.
import * as path from "node:path";
import { KernelClient, KernelDiedError, KernelTimeoutError, fmtMs } from "./kernel-client";
import { OutputCollector, ensureCellIds, readNotebook, sourceText, synthesizeError, writeNotebook, type Cell, type Notebook } from "./nbformat";

/** How a notebook run ended. */
export type NotebookStatus = "ok" | "error" | "timeout" | "kernel-died" | "kernel-start-failed" | "invalid";

/** Where and why a notebook stopped. */
export interface CellFailure {
  /** 1-based position among all cells, as Jupyter numbers them. */
  cellNumber: number;
  /** 1-based position among code cells. */
  codeCellNumber: number;
  /** The cell's first lines. */
  sourceHead: string;
  /** Short error ("Error: boom", "cell timed out after 10 s", ...). */
  message: string;
  /** Full error text (stderr / traceback). */
  detail: string;
}

/** The result of running one notebook. */
export interface NotebookRun {
  /** File name without .ipynb, also the results-file name. */
  notebook: string;
  source: string;
  /** Executed copy (absent when nothing could be written). */
  output?: string;
  status: NotebookStatus;
  startedAt: string;
  durationSec: number;
  /** Code cells in the notebook / code cells executed (including the failing one). */
  codeCells: number;
  executedCells: number;
  failure?: CellFailure;
  kernelStartMs?: number;
  /** Wall time of each executed code cell, ms, measured by the runner (request sent → idle received). */
  cellMs: number[];
  /** Pid of the kernel used (for tests checking that it is gone). */
  kernelPid?: number;
}

/** Progress callbacks for live display. */
export interface RunObserver {
  kernelStarting?(): void;
  kernelStarted?(pid: number, ms: number): void;
  cellStarted?(codeCell: number, codeCells: number): void;
  cellFinished?(codeCell: number, codeCells: number, ms: number, ok: boolean): void;
}

/** Options for {@link executeNotebook}. */
export interface ExecuteNotebookOptions {
  /** Where to write the executed notebook. */
  outputPath: string;
  /** Environment of the kernel (already containing the FMNIST_* parameters). */
  env: NodeJS.ProcessEnv;
  /** Parameters to record in the executed notebook's metadata. */
  parameters: Record<string, string>;
  cellTimeoutMs: number;
  notebookBudgetMs: number;
  startTimeoutMs: number;
  observer?: RunObserver;
}

/** Metadata key under which the runner records its run (parameters, status, timings). */
export const RUN_METADATA_KEY = "fmnist_run";
/**
 * Cell-metadata key of the project; the runner writes `metadata.fmnist.timing` ({@link CellTiming}) there.
 * nbformat 4.5 allows only strings in `metadata.execution`, so numbers and the runner's own clock go here.
 */
export const CELL_METADATA_KEY = "fmnist";

/** A cell's timing as the runner measured it (`metadata.fmnist.timing` of executed notebooks). */
export interface CellTiming {
  /** ISO time the runner sent the cell. */
  started: string;
  /** ISO time the runner had the cell's reply and idle status. */
  finished: string;
  /** Runner-side wall time, seconds (3 decimals). */
  duration_sec: number;
}

/** Where the kernel's handler prints an exception no cell caught (thrown from a timer or callback, or a rejected promise nobody awaited). */
const ASYNC_FAILURE = /^(UncaughtException|UnhandledPromiseRejection):[ \t]*(.*)$/m;

/** The first "UncaughtException: …" / "UnhandledPromiseRejection: …" line tslab printed in `stderr`, if any. */
export function findAsyncFailure(stderr: string): string | undefined {
  const m = ASYNC_FAILURE.exec(stderr);
  return m ? `${m[1]}: ${m[2]}`.trim() : undefined;
}

/** Records a cell's timing under the project's key, keeping anything else stored there. */
function setTiming(cell: Cell, timing: CellTiming): void {
  const own = cell.metadata[CELL_METADATA_KEY];
  const rest = typeof own === "object" && own !== null && !Array.isArray(own) ? (own as Record<string, unknown>) : {};
  cell.metadata[CELL_METADATA_KEY] = { ...rest, timing };
}

/** nbformat's metadata.execution: only string timestamps (kernel-side message dates), none undefined. */
function executionMetadata(t: { busy?: string; reply?: string; idle?: string }): Record<string, string> {
  const out: Record<string, string> = {};
  if (t.busy) out["iopub.status.busy"] = t.busy;
  if (t.reply) out["shell.execute_reply"] = t.reply;
  if (t.idle) out["iopub.status.idle"] = t.idle;
  return out;
}

/** How long the runner waits after the last cell for output a timer or callback of that cell still prints. */
export const SETTLE_MS = 300;

/** Cell tag (as in nbclient) marking a cell whose error is expected: the run continues. */
export const TAG_RAISES = "raises-exception";
/** Cell tag (as in papermill/nbdev) marking a cell the headless runner skips. */
export const TAG_SKIP = "skip-execution";

function tagsOf(cell: Cell): string[] {
  const t = cell.metadata.tags;
  return Array.isArray(t) ? t.map(String) : [];
}

/** First `n` non-empty lines of a cell, for failure reports. */
export function sourceHead(source: string, n = 3): string {
  const lines = source.split("\n").filter((l) => l.trim() !== "");
  return lines.slice(0, n).join("\n") + (lines.length > n ? "\n…" : "");
}

/**
 * Runs a notebook on a fresh kernel (cwd = the notebook's folder, as Jupyter does) and writes the executed
 * copy — also after a failure, up to and including the failing cell with an `error` output. The kernel's
 * process group is always killed before this resolves.
 */
export async function executeNotebook(source: string, opts: ExecuteNotebookOptions): Promise<NotebookRun> {
  const notebook = path.basename(source, ".ipynb");
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const run: NotebookRun = {
    notebook,
    source,
    status: "ok",
    startedAt,
    durationSec: 0,
    codeCells: 0,
    executedCells: 0,
    cellMs: [],
  };
  let nb: Notebook;
  try {
    nb = readNotebook(source);
  } catch (err) {
    run.status = "invalid";
    run.failure = { cellNumber: 0, codeCellNumber: 0, sourceHead: "", message: (err as Error).message, detail: "" };
    return run;
  }
  const codeCells = nb.cells.filter((c) => c.cell_type === "code");
  run.codeCells = codeCells.length;
  // nbformat 4.5: every cell has an id (notebooks saved by older tools may lack them).
  ensureCellIds(nb);
  // Executed copy: outputs of cells not run are cleared so a partial copy cannot pass for a complete one.
  for (const c of codeCells) {
    c.outputs = [];
    c.execution_count = null;
    delete c.metadata.execution;
    const own = c.metadata[CELL_METADATA_KEY];
    if (typeof own === "object" && own !== null && "timing" in own) {
      const { timing: _old, ...rest } = own as Record<string, unknown>;
      if (Object.keys(rest).length === 0) delete c.metadata[CELL_METADATA_KEY];
      else c.metadata[CELL_METADATA_KEY] = rest;
    }
  }
  /** Finished cells by execute request, for output that arrives after a cell finished. */
  const finishedCells = new Map<string, { cell: Cell; cellIndex: number; codeIndex: number; code: string; collector: OutputCollector }>();
  /**
   * Files output that arrived for finished cells into those cells, and fails the run when it carries an
   * exception thrown asynchronously (tslab's "UncaughtException: …"): it names the cell whose callback threw
   * or that had last run. Returns true when the run failed.
   */
  const checkLateOutput = (k: KernelClient): boolean => {
    const touched = new Set<string>();
    for (const { requestId, msg } of k.takeLateOutputs()) {
      const f = finishedCells.get(requestId);
      if (!f) continue;
      const before = f.collector.stderr.length;
      f.collector.add(msg);
      f.cell.outputs = f.collector.finalOutputs();
      const late = findAsyncFailure(f.collector.stderr.slice(before));
      if (late && run.status === "ok" && !tagsOf(f.cell).includes(TAG_RAISES)) {
        touched.add(requestId);
        const what = `${late} (thrown asynchronously after the cell had finished, from a timer, callback or promise it started)`;
        f.cell.outputs.push({ output_type: "error", ename: late.split(":")[0], evalue: what, traceback: f.collector.stderr.split("\n") });
        run.status = "error";
        run.failure = failure(f.cellIndex, f.codeIndex, f.code, what, f.collector.stderr);
      }
    }
    return run.status !== "ok";
  };

  let kernel: KernelClient | undefined;
  opts.observer?.kernelStarting?.();
  try {
    kernel = await KernelClient.start({ cwd: path.dirname(path.resolve(source)), env: opts.env, startTimeoutMs: opts.startTimeoutMs });
    run.kernelStartMs = kernel.startMs;
    run.kernelPid = kernel.pid;
    opts.observer?.kernelStarted?.(kernel.pid, kernel.startMs);
  } catch (err) {
    run.status = "kernel-start-failed";
    const detail = err instanceof KernelDiedError ? err.stderrTail : "";
    run.failure = { cellNumber: 0, codeCellNumber: 0, sourceHead: "", message: (err as Error).message, detail };
  }

  let codeIndex = 0;
  if (kernel) {
    try {
      for (let i = 0; i < nb.cells.length; i++) {
        const cell = nb.cells[i];
        if (cell.cell_type !== "code") continue;
        codeIndex++;
        const code = sourceText(cell.source);
        if (tagsOf(cell).includes(TAG_SKIP) || code.trim() === "") continue;
        const budgetLeft = opts.notebookBudgetMs - (performance.now() - t0);
        if (budgetLeft <= 0) {
          run.status = "timeout";
          run.failure = failure(i, codeIndex, code, `notebook budget of ${fmtMs(opts.notebookBudgetMs)} used up before this cell`, "");
          break;
        }
        const byBudget = budgetLeft < opts.cellTimeoutMs;
        const timeoutMs = Math.min(opts.cellTimeoutMs, budgetLeft);
        if (checkLateOutput(kernel)) break;
        opts.observer?.cellStarted?.(codeIndex, codeCells.length);
        const collector = new OutputCollector();
        const started = new Date().toISOString();
        const c0 = performance.now();
        run.executedCells++;
        try {
          const outcome = await kernel.execute(code, { timeoutMs, onIopub: (m) => collector.add(m) });
          const ms = performance.now() - c0;
          run.cellMs.push(ms);
          // An exception thrown asynchronously (by this cell or by a callback an earlier cell left running)
          // while this cell ran: tslab prints it on this cell's stderr and still answers "ok".
          const asyncFailure = outcome.status === "ok" ? findAsyncFailure(collector.stderr) : undefined;
          const ok = outcome.status === "ok" && asyncFailure === undefined;
          if (outcome.status === "error" && !collector.outputs.some((o) => o.output_type === "error")) {
            collector.outputs.push(synthesizeError(collector.stderr));
          }
          const what = asyncFailure && `${asyncFailure} (thrown asynchronously while this cell ran, by it or by a timer, callback or promise an earlier cell started)`;
          if (what) collector.outputs.push({ output_type: "error", ename: asyncFailure.split(":")[0], evalue: what, traceback: collector.stderr.split("\n") });
          cell.outputs = collector.finalOutputs();
          cell.execution_count = outcome.executionCount;
          cell.metadata.execution = executionMetadata(outcome.timing);
          setTiming(cell, { started, finished: new Date().toISOString(), duration_sec: round3(ms / 1000) });
          finishedCells.set(outcome.requestId, { cell, cellIndex: i, codeIndex, code, collector });
          opts.observer?.cellFinished?.(codeIndex, codeCells.length, ms, ok);
          if (!ok && !tagsOf(cell).includes(TAG_RAISES)) {
            const err = cell.outputs.find((o) => o.output_type === "error");
            const message = what ?? (err && err.output_type === "error" ? `${err.ename}: ${err.evalue}` : `execute_reply status ${outcome.status}`);
            run.status = "error";
            run.failure = failure(i, codeIndex, code, message, collector.stderr);
            break;
          }
        } catch (err) {
          const ms = performance.now() - c0;
          run.cellMs.push(ms);
          cell.outputs = collector.finalOutputs();
          setTiming(cell, { started, finished: new Date().toISOString(), duration_sec: round3(ms / 1000) });
          opts.observer?.cellFinished?.(codeIndex, codeCells.length, ms, false);
          if (err instanceof KernelTimeoutError) {
            run.status = "timeout";
            const what = byBudget
              ? `notebook budget of ${fmtMs(opts.notebookBudgetMs)} ran out during this cell`
              : `cell timed out after ${fmtMs(opts.cellTimeoutMs)}`;
            cell.outputs.push({ output_type: "error", ename: "CellTimeout", evalue: what, traceback: [what] });
            run.failure = failure(i, codeIndex, code, what, collector.stderr);
          } else if (err instanceof KernelDiedError) {
            run.status = "kernel-died";
            const what = err.message;
            cell.outputs.push({ output_type: "error", ename: "KernelDied", evalue: what, traceback: [what, ...err.stderrTail.split("\n")] });
            run.failure = failure(i, codeIndex, code, what, err.stderrTail);
          } else {
            throw err;
          }
          break;
        }
      }
      if (run.status === "ok") {
        // A timer or callback of the last cell may still throw: give it a moment before shutting down.
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        checkLateOutput(kernel);
      }
    } finally {
      await (run.status === "ok" ? kernel.shutdown() : kernel.dispose());
    }
  }

  run.durationSec = round3((performance.now() - t0) / 1000);
  nb.metadata[RUN_METADATA_KEY] = {
    parameters: opts.parameters,
    status: run.status,
    started: startedAt,
    finished: new Date().toISOString(),
    duration_sec: run.durationSec,
    kernel_start_sec: run.kernelStartMs === undefined ? null : round3(run.kernelStartMs / 1000),
    executed_cells: run.executedCells,
    code_cells: run.codeCells,
    ...(run.failure ? { failure: { cell: run.failure.cellNumber, code_cell: run.failure.codeCellNumber, message: run.failure.message } } : {}),
  };
  writeNotebook(opts.outputPath, nb);
  run.output = opts.outputPath;
  return run;
}

function failure(cellIndex: number, codeIndex: number, code: string, message: string, detail: string): CellFailure {
  return { cellNumber: cellIndex + 1, codeCellNumber: codeIndex, sourceHead: sourceHead(code), message, detail };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
