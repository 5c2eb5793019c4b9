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
import { registryTrainingMacsPerImage } from "./cost";
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

// ---------------------------------------------------------------------------------------------
// Planning the final training. Every decision below (which trial wins, how many epochs it trains)
// reads only deterministic quantities: validation scores (bit for bit the same on any thread count
// on wasm), batch sizes, multiply-adds counted from the model's layers (cost.ts) and constants
// recorded here. No planning type has a time field and no planning function reads a clock; the
// trials' measured trainSec / samplesPerSec are only reported (test/tuning-plan.test.ts checks both).
// ---------------------------------------------------------------------------------------------

/** What the planner knows about one trial. Deliberately no time fields: see the note above. */
export interface PlanCandidate extends TrialScores {
  batchSize: number;
  /** Training (forward + backward) multiply-adds per image of the trial's configuration, from `trainingMacsPerImage`. */
  trainMacsPerImage: number;
}

/** A compute budget for the final training, in multiply-adds. */
export interface ComputeBudget {
  /** Multiply-adds the final training may spend: images × cost per image + batches × {@link perBatchMacs}. */
  macs: number;
  /** Fixed cost of one optimizer step (kernel launches, thread hand-overs, the weight update), in multiply-add equivalents. */
  perBatchMacs: number;
}

/**
 * The full profile's compute budget for notebook 10's final training, calibrated once on the reference
 * machine (this project's 2-core machine, wasm, 2 threads) from the recorded full run that
 * notebooks/baselines/full.json holds, so that the recorded winner gets the 21 epochs it got there.
 *
 * perBatchMacs: one `npm run bench` run on the same machine (README, Backends: model 3, 2 threads)
 * trained 443 images/s at batch 32 and 590 at batch 128. With a per-image cost c and a per-step cost
 * o, 1/443 = c + o/32 and 1/590 = c + o/128 give o ≈ 16 c: a step costs about what 16 images do.
 * Recorded as 16 images of the calibrated configuration (`best`, 32 filters: 3 × 7,643,776 =
 * 22,931,328 training MACs per image): 16 × 22,931,328 = 366,901,248 ≈ 3.67e8. It keeps batch sizes
 * comparable (at batch 32 a step's overhead is half the images' cost again); with it the 64-filter
 * configurations cost 3.6–3.7× the 32-filter one at batch 128, close to the ~3.4× the trials measured.
 *
 * macs: the recorded run planned 19 min × 0.95 = 1,083 s at trial 1's measured speed (Adam 1e-3, 32
 * filters, dropout 0.25, batch 128) and trained 21 epochs over 60,000 images in 1,051.169 s
 * (full.json's best.train_sec) = 1,198.7 images/s, which was 1.006× the trial's speed, so trial 1
 * trained at 1,198.7 / 1.006 = 1,191.5 images/s: 1,083 s × 1,191.5 = 1,290,400 images = 21.51 epochs.
 * One epoch of that configuration costs 60,000 × 22,931,328 + ⌈60,000 / 128⌉ × 366,901,248 =
 * 1.5480e12 MACs, so the budget is 21.51 × 1.5480e12 = 3.329e13, recorded as 3.33e13: 21.51 epochs,
 * floored to 21 (21 holds for any budget from 3.251e13 to 3.405e13, ±2.3%).
 */
export const FULL_PROFILE_COMPUTE_BUDGET: Readonly<ComputeBudget> = Object.freeze({ macs: 3.33e13, perBatchMacs: 3.67e8 });

/** Multiply-adds of one epoch over `trainImages` images at the candidate's batch size. */
export function epochMacs(c: Pick<PlanCandidate, "trainMacsPerImage" | "batchSize">, trainImages: number, budget: ComputeBudget): number {
  if (!(Number.isInteger(trainImages) && trainImages > 0)) throw new Error(`epochMacs: trainImages must be a positive integer, got ${trainImages}`);
  if (!(Number.isInteger(c.batchSize) && c.batchSize > 0)) throw new Error(`epochMacs: batchSize must be a positive integer, got ${c.batchSize}`);
  if (!(Number.isFinite(c.trainMacsPerImage) && c.trainMacsPerImage > 0)) throw new Error(`epochMacs: trainMacsPerImage must be positive, got ${c.trainMacsPerImage}`);
  if (!(Number.isFinite(budget.perBatchMacs) && budget.perBatchMacs >= 0)) throw new Error(`epochMacs: perBatchMacs must be non-negative, got ${budget.perBatchMacs}`);
  return trainImages * c.trainMacsPerImage + Math.ceil(trainImages / c.batchSize) * budget.perBatchMacs;
}

/** Whole epochs over `trainImages` images the budget affords the candidate's configuration (at least 0). */
export function epochsInComputeBudget(c: Pick<PlanCandidate, "trainMacsPerImage" | "batchSize">, trainImages: number, budget: ComputeBudget): number {
  if (!(Number.isFinite(budget.macs) && budget.macs > 0)) throw new Error(`epochsInComputeBudget: budget macs must be positive, got ${budget.macs}`);
  return Math.max(0, Math.floor(budget.macs / epochMacs(c, trainImages, budget)));
}

/** How the final training is chosen. */
export interface PlanRules {
  /** Images one epoch of the final training visits. */
  trainImages: number;
  /** The compute budget; without one (quick profile) the best trial wins and trains `maxEpochs`. */
  budget?: ComputeBudget;
  /** Epochs the model is meant to train for (the registry's, or the profile's). */
  maxEpochs: number;
  /** Fewest epochs a configuration must afford to win (default: half of `maxEpochs`, rounded up). */
  minEpochs?: number;
}

/** One candidate's line of the plan. */
export interface CandidatePlan extends PlanCandidate {
  epochMacs: number;
  /** Epochs the budget affords (null without a budget). */
  affordableEpochs: number | null;
  /** Affords at least the minimum epochs (always true without a budget). */
  eligible: boolean;
}

/** The plan of the final training: the winner and its epochs, and how they were decided. */
export interface TrainingPlan {
  winnerId: number;
  epochs: number;
  /** Epochs the budget affords the winner (null without a budget). */
  affordableEpochs: number | null;
  /** Some configuration affords `minEpochs`; when none does, the best of all wins, flagged false. */
  fitsBudget: boolean;
  minEpochs: number;
  maxEpochs: number;
  trainImages: number;
  budget: ComputeBudget | null;
  /** The winner's training multiply-adds per image and the whole run's multiply-adds. */
  winnerMacsPerImage: number;
  plannedMacs: number;
  candidates: CandidatePlan[];
}

/**
 * The best validation accuracy (then loss, then id) among the candidates that afford at least
 * `minEpochs` in the budget, trained for the epochs it affords, at most `maxEpochs`: a configuration too
 * costly to train properly within the budget does not win on the strength of a short search. Without a
 * budget, the best candidate trains `maxEpochs`. Pure: the same candidates and rules give the same plan.
 */
export function planTraining(candidates: readonly PlanCandidate[], rules: PlanRules): TrainingPlan {
  const { trainImages, budget, maxEpochs } = rules;
  if (candidates.length === 0) throw new Error("planTraining: no candidates.");
  if (!(Number.isInteger(maxEpochs) && maxEpochs >= 1)) throw new Error(`planTraining: maxEpochs must be a positive integer, got ${maxEpochs}`);
  const minEpochs = rules.minEpochs ?? Math.ceil(maxEpochs / 2);
  if (!(Number.isInteger(minEpochs) && minEpochs >= 1)) throw new Error(`planTraining: minEpochs must be a positive integer, got ${minEpochs}`);
  const lines: CandidatePlan[] = candidates.map((c) => {
    const plain: PlanCandidate = { id: c.id, valAcc: c.valAcc, valLoss: c.valLoss, batchSize: c.batchSize, trainMacsPerImage: c.trainMacsPerImage };
    const perEpoch = epochMacs(plain, trainImages, budget ?? { macs: 1, perBatchMacs: 0 });
    const affordable = budget ? epochsInComputeBudget(plain, trainImages, budget) : null;
    return { ...plain, epochMacs: perEpoch, affordableEpochs: affordable, eligible: affordable === null || affordable >= minEpochs };
  });
  const eligible = lines.filter((l) => l.eligible);
  const winner = bestTrial(eligible.length > 0 ? eligible : lines);
  const epochs = winner.affordableEpochs === null ? maxEpochs : Math.max(1, Math.min(maxEpochs, winner.affordableEpochs));
  return {
    winnerId: winner.id, epochs, affordableEpochs: winner.affordableEpochs, fitsBudget: eligible.length > 0, minEpochs, maxEpochs, trainImages,
    budget: budget ? { macs: budget.macs, perBatchMacs: budget.perBatchMacs } : null,
    winnerMacsPerImage: winner.trainMacsPerImage, plannedMacs: epochs * winner.epochMacs, candidates: lines,
  };
}

/** One line describing a plan (what notebook 10 prints). */
export function describePlan(plan: TrainingPlan): string {
  const w = plan.candidates.find((c) => c.id === plan.winnerId)!;
  const mmacs = (plan.winnerMacsPerImage / 1e6).toFixed(1);
  const images = plan.trainImages.toLocaleString("en-US");
  if (!plan.budget) {
    return `plan: trial ${w.id} (best validation accuracy), ${mmacs} M training multiply-adds per image, ${plan.epochs} epoch(s) over ${images} images (no compute budget in this profile)`;
  }
  const tmacs = (x: number): string => `${(x / 1e12).toFixed(2)} T`;
  const head = plan.fitsBudget
    ? `plan: trial ${w.id}, the best of the ${plan.candidates.filter((c) => c.eligible).length} of ${plan.candidates.length} trials that afford ≥ ${plan.minEpochs} epochs`
    : `plan: no trial affords ${plan.minEpochs} epochs; trial ${w.id}, the best of all`;
  return `${head}: ${mmacs} M training multiply-adds per image (+ ${(plan.budget.perBatchMacs / 1e6).toFixed(0)} M per batch of ${w.batchSize}), ${tmacs(w.epochMacs)} per epoch over ${images} images; budget ${tmacs(plan.budget.macs)} affords ${plan.affordableEpochs} epoch(s); training ${plan.epochs} (registry: ${plan.maxEpochs}), ${tmacs(plan.plannedMacs)}`;
}

/** The plan as table rows, one per trial (training multiply-adds per image in millions, epochs afforded, eligibility). */
export function planRows(plan: TrainingPlan): Record<string, string | number | boolean>[] {
  return plan.candidates.map((c) => ({
    trial: c.id, valAcc: c.valAcc.toFixed(4), batchSize: c.batchSize, trainMMacsPerImage: (c.trainMacsPerImage / 1e6).toFixed(1),
    epochTMacs: (c.epochMacs / 1e12).toFixed(2), affordableEpochs: c.affordableEpochs ?? "–", eligible: c.eligible, winner: c.id === plan.winnerId,
  }));
}

/** Options of {@link planFinalTraining}. */
export interface FinalTrainingOptions {
  /** "full" plans within {@link FULL_PROFILE_COMPUTE_BUDGET} (or `budget`); "quick": the best trial, `profileEpochs` epochs. */
  profile: "quick" | "full";
  /** Registry model the trials configure (its training cost per image is counted from its layers). */
  model: string;
  /** Images one epoch of the final training visits. */
  trainImages: number;
  /** Epochs the registry asks for (full profile; default `profileEpochs`). */
  registryEpochs?: number;
  /** The profile's epochs (quick profile). */
  profileEpochs: number;
  /** Overrides {@link FULL_PROFILE_COMPUTE_BUDGET}. */
  budget?: ComputeBudget;
  /** Training multiply-adds per image of a trial's configuration (default: counted from `model`'s layers). */
  trainMacsPerImage?: (t: Pick<Trial, "filters" | "dropout">) => number;
}

/**
 * Notebook 10's plan for the final training, from the search's results: the winner and its epochs.
 * Reads from each result only its id, validation accuracy and loss, batch size and the configuration's
 * layer shapes (through `filters`); trainSec and samplesPerSec are never read, so the plan is the same
 * on any machine, at any load, with any thread count.
 */
export function planFinalTraining<T extends TrialScores & Pick<Trial, "batchSize" | "filters" | "dropout">>(
  results: readonly T[], opts: FinalTrainingOptions,
): TrainingPlan & { winner: T; summary: string } {
  const count = opts.trainMacsPerImage ?? ((t: Pick<Trial, "filters" | "dropout">) => registryTrainingMacsPerImage(opts.model, { filters: t.filters, dropout: t.dropout }));
  const macsByConfig = new Map<string, number>(); // one model built per distinct configuration
  const candidates: PlanCandidate[] = results.map((r) => {
    const key = `${r.filters}|${r.dropout}`;
    let macs = macsByConfig.get(key);
    if (macs === undefined) {
      macs = count({ filters: r.filters, dropout: r.dropout });
      macsByConfig.set(key, macs);
    }
    return { id: r.id, valAcc: r.valAcc, valLoss: r.valLoss, batchSize: r.batchSize, trainMacsPerImage: macs };
  });
  const full = opts.profile === "full";
  const plan = planTraining(candidates, {
    trainImages: opts.trainImages,
    budget: full ? (opts.budget ?? FULL_PROFILE_COMPUTE_BUDGET) : undefined,
    maxEpochs: full ? (opts.registryEpochs ?? opts.profileEpochs) : opts.profileEpochs,
  });
  const winner = results.find((r) => r.id === plan.winnerId)!;
  return { ...plan, winner, summary: describePlan(plan) };
}

/** The study's target for the `best` model: this test accuracy (single pass) within this many minutes of training on a 2-core machine. */
export const STUDY_TARGET: Readonly<{ testAcc: number; trainMinutes: number }> = Object.freeze({ testAcc: 0.93, trainMinutes: 20 });

/**
 * One line comparing a final run with {@link STUDY_TARGET}. Reports only: the measured time is compared here, after
 * the fact, and never decides anything that is trained.
 */
export function describeTarget(testAcc: number, trainSec: number, profile: string): string {
  const minutes = trainSec / 60;
  const t = STUDY_TARGET;
  const head = `study target ${(100 * t.testAcc).toFixed(1)}% test accuracy in under ${t.trainMinutes} min of training`;
  if (testAcc >= t.testAcc && minutes < t.trainMinutes) return `${head}: reached (${(100 * testAcc).toFixed(2)}% in ${minutes.toFixed(1)} min)`;
  return `${head}: not reached (${(100 * testAcc).toFixed(2)}% in ${minutes.toFixed(1)} min${profile === "full" ? "" : "; the quick profile is a smoke test"})`;
}
