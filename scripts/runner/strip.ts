// What a clean, committable notebook is: no outputs, no execution counts, no volatile metadata, the project's
// kernelspec. Shared by scripts/strip-notebooks.ts and test/notebooks-clean.test.ts.
import { sourceText, toLines, type Notebook } from "./nbformat";

/** The kernelspec every project notebook names (written by scripts/kernel.ts). */
export const PROJECT_KERNELSPEC = { name: "fmnist-tslab", display_name: "TypeScript (fmnist)", language: "typescript" } as const;

/** Notebook-level metadata that changes from run to run (runner records, papermill, widget state, editor state). */
export const VOLATILE_NOTEBOOK_METADATA = ["fmnist_run", "papermill", "widgets", "execution", "vscode", "toc-autonumbering"];
/** Cell-level metadata that changes from run to run (timings, view state). */
export const VOLATILE_CELL_METADATA = ["execution", "ExecuteTime", "papermill", "scrolled", "collapsed", "trusted"];

/** Lists what makes a notebook unclean (empty when it is clean). */
export function dirtyReasons(nb: Notebook): string[] {
  const reasons: string[] = [];
  const code = nb.cells.filter((c) => c.cell_type === "code");
  const withOutputs = code.filter((c) => (c.outputs ?? []).length > 0).length;
  const withCounts = code.filter((c) => c.execution_count !== null && c.execution_count !== undefined).length;
  if (withOutputs) reasons.push(`${withOutputs} cell(s) with outputs`);
  if (withCounts) reasons.push(`${withCounts} execution count(s)`);
  const nbMeta = VOLATILE_NOTEBOOK_METADATA.filter((k) => k in nb.metadata);
  if (nbMeta.length) reasons.push(`notebook metadata ${nbMeta.join(", ")}`);
  const cellMeta = new Set(nb.cells.flatMap((c) => VOLATILE_CELL_METADATA.filter((k) => k in (c.metadata ?? {}))));
  if (cellMeta.size) reasons.push(`cell metadata ${[...cellMeta].join(", ")}`);
  const ks = nb.metadata.kernelspec as Record<string, unknown> | undefined;
  if (!ks || ks.name !== PROJECT_KERNELSPEC.name) reasons.push(`kernelspec is ${JSON.stringify(ks?.name ?? null)}, not "${PROJECT_KERNELSPEC.name}"`);
  return reasons;
}

/**
 * Returns a clean copy: outputs emptied, execution counts null, volatile metadata removed, the project
 * kernelspec set, sources in Jupyter's list-of-lines form. Other metadata (cell ids, tags) is kept.
 */
export function stripNotebook(nb: Notebook): Notebook {
  const metadata: Record<string, unknown> = { ...nb.metadata, kernelspec: { ...PROJECT_KERNELSPEC } };
  for (const k of VOLATILE_NOTEBOOK_METADATA) delete metadata[k];
  const cells = nb.cells.map((c) => {
    const cellMeta: Record<string, unknown> = { ...(c.metadata ?? {}) };
    for (const k of VOLATILE_CELL_METADATA) delete cellMeta[k];
    const out = { ...c, metadata: cellMeta, source: toLines(sourceText(c.source)) };
    if (c.cell_type === "code") {
      out.outputs = [];
      out.execution_count = null;
    }
    return out;
  });
  return { ...nb, metadata, cells };
}
