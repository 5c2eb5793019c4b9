/**
 * Hyperparameter search: a seeded random sample of a discrete search space (optimizer,
 * learning rate, filters, dropout, batch size), each trial trained with early stopping and
 * scored on the validation set. Random search, because with five dimensions it finds good
 * regions with far fewer trials than a grid (Bergstra & Bengio, 2012).
 */
import { inNotebook } from "./display";
import { withInterrupts } from "./interrupt";
import { disposeModel } from "./dispose-model";
import { buildModel, type OptimizerName } from "./models";
import { createRng } from "./random";
import { trainModel, type TrainData } from "./train";

/** The values each hyperparameter may take. Learning rates depend on the optimizer. */
export interface SearchSpace {
  optimizer: OptimizerName[];
  learningRate: Record<OptimizerName, number[]>;
  filters: number[];
  dropout: number[];
  batchSize: number[];
}

/**
 * The study's space. Rates bracket each optimizer's usual default (Adam/RMSprop 1e-3, SGD
 * with momentum 1e-2) by ~3× either way; filters and dropout span the write-ups' models.
 */
export const DEFAULT_SEARCH_SPACE: SearchSpace = {
  optimizer: ["adam", "rmsprop", "sgd"],
  learningRate: { adam: [3e-4, 1e-3, 3e-3], rmsprop: [3e-4, 1e-3, 3e-3], sgd: [3e-3, 1e-2, 3e-2] },
  filters: [16, 32, 64],
  dropout: [0, 0.25, 0.5],
  batchSize: [32, 64, 128],
};

/** One point of the space. */
export interface Trial {
  id: number;
  optimizer: OptimizerName;
  learningRate: number;
  filters: number;
  dropout: number;
  batchSize: number;
}

/** A trained trial: its validation scores at the best epoch. */
export interface TrialResult extends Trial {
  valAcc: number;
  valLoss: number;
  trainLoss: number;
  epochsRun: number;
  bestEpoch: number;
  trainSec: number;
  /** Training images per second (batches only: evaluation excluded), what a longer run of the configuration would sustain. */
  samplesPerSec: number;
}

function checkSpace(space: SearchSpace): void {
  const keys: (keyof SearchSpace)[] = ["optimizer", "learningRate", "filters", "dropout", "batchSize"];
  for (const k of keys) {
    if (space[k] === undefined) throw new Error(`Search space is missing "${k}".`);
  }
  if (space.optimizer.length === 0) throw new Error("Search space: optimizer needs at least one value.");
  for (const opt of space.optimizer) {
    if (!space.learningRate[opt]?.length) throw new Error(`Search space: no learning rates for optimizer "${opt}".`);
  }
  for (const k of ["filters", "dropout", "batchSize"] as const) {
    if (space[k].length === 0) throw new Error(`Search space: ${k} needs at least one value.`);
  }
}

/** Number of distinct points in the space. */
export function spaceSize(space: SearchSpace): number {
  checkSpace(space);
  const lrs = space.optimizer.reduce((s, o) => s + space.learningRate[o].length, 0);
  return lrs * space.filters.length * space.dropout.length * space.batchSize.length;
}

/**
 * Draws `n` distinct trials from the space, deterministically for a seed. Throws when the
 * space has fewer than `n` points.
 */
export function sampleTrials(space: SearchSpace, n: number, seed: number): Trial[] {
  const size = spaceSize(space);
  if (!Number.isInteger(n) || n < 1 || n > size) throw new Error(`sampleTrials: n must be from 1 to the space's ${size} points, got ${n}.`);
  const rng = createRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const seen = new Set<string>();
  const trials: Trial[] = [];
  while (trials.length < n) {
    const optimizer = pick(space.optimizer);
    const t: Trial = {
      id: trials.length + 1,
      optimizer,
      learningRate: pick(space.learningRate[optimizer]),
      filters: pick(space.filters),
      dropout: pick(space.dropout),
      batchSize: pick(space.batchSize),
    };
    const key = `${t.optimizer}|${t.learningRate}|${t.filters}|${t.dropout}|${t.batchSize}`;
    if (seen.has(key)) continue;
    seen.add(key);
    trials.push(t);
  }
  return trials;
}

/** How each trial is trained. */
export interface SearchOptions {
  /** Registry model whose filters and dropout are tuned. */
  model: string;
  /** Maximum epochs per trial. */
  epochs: number;
  /** Early-stopping patience on validation loss. */
  patience: number;
  seed: number;
  /** Called after each trial (for a live table in the notebook); `from.stored` when it was read from the store, not trained. */
  onTrial?: (result: TrialResult, index: number, total: number, from: { stored: boolean; file?: string }) => void;
  progress?: "auto" | "lines" | "none";
  /**
   * Where trial results are kept (search-store.ts): a trial found there is read instead of trained, and each
   * trained trial is written there as soon as it finishes, so an interrupted search loses at most the trial it was in.
   */
  store?: TrialStoreLike;
  /** Only these trial ids (one machine's share of a wider search); the others are skipped. */
  only?: readonly number[];
  /** Listen for SIGINT (stop after the current batch) outside a notebook too. Default: only in a notebook. */
  listenForInterrupts?: boolean;
}

/** What {@link runSearch} needs of a trial store (implemented by search-store.ts's TrialStore). */
export interface TrialStoreLike {
  read(trial: Trial): { result: TrialResult } | undefined;
  write(result: TrialResult): string;
  readonly dir: string;
}

/**
 * Trains every trial on `data.train`, scores it on `data.val` at its best epoch (early
 * stopping on validation loss, best weights restored), and returns the results in trial
 * order. Every model is disposed. With a store, stored trials are read, not trained, and new ones stored.
 */
export async function runSearch(trials: Trial[], data: Required<TrainData>, opts: SearchOptions): Promise<TrialResult[]> {
  const selected = opts.only ? trials.filter((t) => opts.only!.includes(t.id)) : trials;
  if (opts.only) {
    const unknown = opts.only.filter((id) => !trials.some((t) => t.id === id));
    if (unknown.length > 0) throw new Error(`runSearch: no trial with id ${unknown.join(", ")} among trials ${trials.map((t) => t.id).join(", ")}.`);
  }
  // One interrupt scope for the whole search: a kernel interrupt ends the search, not just one trial.
  return withInterrupts(async (scope) => {
    const results: TrialResult[] = [];
    for (const [i, t] of selected.entries()) {
      if (scope.requested) break;
      const stored = opts.store?.read(t);
      if (stored) {
        results.push(stored.result);
        opts.onTrial?.(stored.result, i, selected.length, { stored: true });
        continue;
      }
      const model = buildModel(opts.model, { optimizer: t.optimizer, learningRate: t.learningRate, filters: t.filters, dropout: t.dropout, seed: opts.seed });
      try {
        const h = await trainModel(model, data, {
          epochs: opts.epochs,
          batchSize: t.batchSize,
          seed: opts.seed,
          earlyStopping: { patience: opts.patience, monitor: "val_loss", restoreBest: true },
          progress: opts.progress ?? "none",
          label: `trial ${t.id}`,
        });
        if (scope.requested) break; // the interrupted trial is not a result
        const b = h.bestEpoch - 1;
        const r: TrialResult = { ...t, valAcc: h.val_acc[b], valLoss: h.val_loss[b], trainLoss: h.loss[b], epochsRun: h.epochsRun, bestEpoch: h.bestEpoch, trainSec: h.trainSec, samplesPerSec: h.samplesPerSec };
        const file = opts.store?.write(r);
        results.push(r);
        opts.onTrial?.(r, i, selected.length, { stored: false, file });
      } finally {
        disposeModel(model);
      }
    }
    if (scope.requested) {
      const kept = opts.store ? ` (each one also kept in ${opts.store.dir}: running the search again continues from there)` : "";
      console.log(`search interrupted after ${results.length} of ${selected.length} trial(s); the results so far are returned${kept}`);
    }
    return results;
  }, { listen: opts.listenForInterrupts ?? inNotebook() });
}

/** What ranking and planning may read about a trial: its id and validation scores (no time fields). */
export interface TrialScores {
  id: number;
  valAcc: number;
  valLoss: number;
}

/** The trial with the highest validation accuracy (ties: lower validation loss, then lower id). */
export function bestTrial<T extends TrialScores>(results: readonly T[]): T {
  if (results.length === 0) throw new Error("bestTrial: no results.");
  return [...results].sort((a, b) => b.valAcc - a.valAcc || a.valLoss - b.valLoss || a.id - b.id)[0];
}
