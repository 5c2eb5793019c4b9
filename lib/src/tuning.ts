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
  /** Called after each trial (for a live table in the notebook). */
  onTrial?: (result: TrialResult, index: number, total: number) => void;
  progress?: "auto" | "lines" | "none";
}

/**
 * Trains every trial on `data.train`, scores it on `data.val` at its best epoch (early
 * stopping on validation loss, best weights restored), and returns the results in trial
 * order. Every model is disposed.
 */
export async function runSearch(trials: Trial[], data: Required<TrainData>, opts: SearchOptions): Promise<TrialResult[]> {
  // One interrupt scope for the whole search: a kernel interrupt ends the search, not just one trial.
  return withInterrupts(async (scope) => {
    const results: TrialResult[] = [];
    for (const [i, t] of trials.entries()) {
      if (scope.requested) break;
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
        results.push(r);
        opts.onTrial?.(r, i, trials.length);
      } finally {
        disposeModel(model);
      }
    }
    if (scope.requested) console.log(`search interrupted after ${results.length} of ${trials.length} trial(s); the results so far are returned`);
    return results;
  }, { listen: inNotebook() });
}

/** The trial with the highest validation accuracy (ties: lower validation loss, then lower id). */
export function bestTrial(results: TrialResult[]): TrialResult {
  if (results.length === 0) throw new Error("bestTrial: no results.");
  return [...results].sort((a, b) => b.valAcc - a.valAcc || a.valLoss - b.valLoss || a.id - b.id)[0];
}

/** How a trial's measured speed is turned into the epochs a full training run can afford. */
export interface TrainingBudget {
  /** Images one epoch of the full training run visits. */
  trainImages: number;
  /** Wall-clock seconds the full training run may take. */
  seconds: number;
  /** Share of `seconds` to plan with (the rest absorbs augmentation and measurement noise), in (0, 1]. */
  margin: number;
}

/**
 * Whole epochs of the full training run that fit `budget` at the speed the trial's batches
 * trained at ({@link TrialResult.samplesPerSec}; the full run evaluates nothing between epochs);
 * at least 0.
 */
export function epochsInBudget(r: TrialResult, budget: TrainingBudget): number {
  const { trainImages, seconds, margin } = budget;
  if (!(trainImages > 0 && seconds > 0 && margin > 0 && margin <= 1)) {
    throw new Error(`epochsInBudget: trainImages and seconds must be positive and margin in (0, 1], got ${JSON.stringify(budget)}`);
  }
  if (!(r.samplesPerSec > 0)) throw new Error(`epochsInBudget: trial ${r.id} has no measured training speed`);
  return Math.max(0, Math.floor((margin * seconds * r.samplesPerSec) / trainImages));
}

/**
 * {@link bestTrial} among the trials that can train at least `minEpochs` within `budget`: a
 * configuration too slow to be trained properly in the time available does not win on the
 * strength of a few epochs. With no such trial, the best of all, flagged `fitsBudget: false`.
 */
export function bestTrialWithinBudget(results: TrialResult[], budget: TrainingBudget, minEpochs: number): { winner: TrialResult; epochs: number; fitsBudget: boolean } {
  if (!(Number.isInteger(minEpochs) && minEpochs >= 1)) throw new Error(`bestTrialWithinBudget: minEpochs must be a positive integer, got ${minEpochs}`);
  const eligible = results.filter((r) => epochsInBudget(r, budget) >= minEpochs);
  const winner = bestTrial(eligible.length > 0 ? eligible : results);
  return { winner, epochs: Math.max(1, epochsInBudget(winner, budget)), fitsBudget: eligible.length > 0 };
}
