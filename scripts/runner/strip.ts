// What a clean, committable notebook is: no outputs, no execution counts, no volatile metadata, the project's
// kernelspec. Shared by scripts/strip-notebooks.ts and test/notebooks-clean.test.ts.
import { CELL_ID_PATTERN, ensureCellIds, sourceText, toLines, type Notebook } from "./nbformat";

/** The kernelspec every project notebook names (written by scripts/kernel.ts). */
export const PROJECT_KERNELSPEC = { name: "fmnist-tslab", display_name: "TypeScript (fmnist)", language: "typescript" } as const;

/** Notebook-level metadata that changes from run to run (runner records, papermill, widget state, editor state). */
export const VOLATILE_NOTEBOOK_METADATA = ["fmnist_run", "papermill", "widgets", "execution", "vscode", "toc-autonumbering"];
/** Cell-level metadata that changes from run to run (timings, view state). */
export const VOLATILE_CELL_METADATA = ["execution", "ExecuteTime", "papermill", "scrolled", "collapsed", "trusted"];

/** The project's own cell-metadata key; its `timing` entry (written by the runner) changes from run to run. */
export const PROJECT_CELL_METADATA_KEY = "fmnist";

/** Removes the runner's per-run entries under the project's cell-metadata key (and the key when nothing else is left). */
function stripProjectCellMetadata(meta: Record<string, unknown>): void {
  const own = meta[PROJECT_CELL_METADATA_KEY];
  if (typeof own !== "object" || own === null || Array.isArray(own)) return;
  const { timing: _timing, ...rest } = own as Record<string, unknown>;
  if (Object.keys(rest).length === 0) delete meta[PROJECT_CELL_METADATA_KEY];
  else meta[PROJECT_CELL_METADATA_KEY] = rest;
}

function hasProjectTiming(meta: Record<string, unknown> | undefined): boolean {
  const own = meta?.[PROJECT_CELL_METADATA_KEY];
  return typeof own === "object" && own !== null && "timing" in own;
}

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
  if (nb.cells.some((c) => hasProjectTiming(c.metadata))) cellMeta.add(`${PROJECT_CELL_METADATA_KEY}.timing`);
  if (cellMeta.size) reasons.push(`cell metadata ${[...cellMeta].join(", ")}`);
  const ids = new Set<string>();
  const badIds = nb.cells.filter((c) => {
    const ok = typeof c.id === "string" && CELL_ID_PATTERN.test(c.id) && !ids.has(c.id);
    if (ok) ids.add(c.id as string);
    return !ok;
  }).length;
  if (badIds) reasons.push(`${badIds} cell(s) without a valid unique id (nbformat 4.5)`);
  const ks = nb.metadata.kernelspec as Record<string, unknown> | undefined;
  if (!ks || ks.name !== PROJECT_KERNELSPEC.name) reasons.push(`kernelspec is ${JSON.stringify(ks?.name ?? null)}, not "${PROJECT_KERNELSPEC.name}"`);
  return reasons;
}

/**
 * Returns a clean copy: outputs emptied, execution counts null, volatile metadata removed, the project
 * kernelspec set, sources in Jupyter's list-of-lines form, every cell with a valid unique id (added where
 * missing, see {@link ensureCellIds}). Other metadata (existing ids, tags) is kept.
 */
export function stripNotebook(nb: Notebook): Notebook {
  const metadata: Record<string, unknown> = { ...nb.metadata, kernelspec: { ...PROJECT_KERNELSPEC } };
  for (const k of VOLATILE_NOTEBOOK_METADATA) delete metadata[k];
  const cells = nb.cells.map((c) => {
    const cellMeta: Record<string, unknown> = { ...(c.metadata ?? {}) };
    for (const k of VOLATILE_CELL_METADATA) delete cellMeta[k];
    stripProjectCellMetadata(cellMeta);
    const out = { ...c, metadata: cellMeta, source: toLines(sourceText(c.source)) };
    if (c.cell_type === "code") {
      out.outputs = [];
      out.execution_count = null;
    }
    return out;
  });
  const clean = { ...nb, metadata, cells };
  ensureCellIds(clean);
  return clean;
}
