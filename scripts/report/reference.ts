// The write-ups' headline figures (and the public anchors) as rows for the report's and README's
// comparison tables, derived from the one write-up table in lib/src/writeups.ts (described in
// docs/writeups.md).
import { ANCHOR_FIGURES, WRITEUP_FIGURES, type ComparedMetric } from "../../lib/src/writeups";

/** One reported figure of a write-up. */
export interface ReferenceNumber {
  /** Write-up id ("000" … "004", see docs/writeups.md), or "anchor" for a public figure that is not a write-up's. */
  writeUp: string;
  /** The model as the write-up names it. */
  model: string;
  /** Our model name in the registry (lib/src/models.ts) that reproduces it, if any. */
  ourModel?: string;
  /** Which figure: "val_acc", "test_acc" or "train_acc" (the matching metric of ours is compared). */
  metric: ComparedMetric;
  value: number;
  /** Where the number comes from, as written in the write-up. */
  source: string;
}

/** Reported numbers, each with the write-up wording it was taken from: the write-ups' headline figures, then the anchors. */
export const REFERENCE_NUMBERS: readonly ReferenceNumber[] = [
  ...WRITEUP_FIGURES.flatMap((f): ReferenceNumber[] => {
    if (!f.compared) return [];
    const value = f.metrics[f.compared.metric];
    if (value === undefined) throw new Error(`lib/src/writeups.ts: ${f.writeUp} "${f.model}" compares ${f.compared.metric} but reports no such figure`);
    return [{ writeUp: f.writeUp, model: f.model, ourModel: f.ourModel, metric: f.compared.metric, value, source: f.compared.wording }];
  }),
  ...ANCHOR_FIGURES.map((a): ReferenceNumber => ({ writeUp: "anchor", model: a.model, ourModel: a.ourModel, metric: a.metric, value: a.value, source: a.wording })),
];
