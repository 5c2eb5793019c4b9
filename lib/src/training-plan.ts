/**
 * Planning the final training of notebook 10 from the search's results: which trial wins and how many epochs it
 * trains, within a compute budget counted in multiply-adds; and the study's target, checked after the fact.
 */
import { registryTrainingMacsPerImage } from "./cost";
import { bestTrial, type Trial, type TrialScores } from "./tuning";

// ---------------------------------------------------------------------------------------------
// Every decision below (which trial wins, how many epochs it trains)
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
 * machine (this project's 2-core machine, wasm, 2 threads) from the full run recorded on 2026-11-23 in
 * notebooks/baselines/full.json, so that the recorded winner gets the 21 epochs it got there. It is a
 * constant: later re-recordings of the baseline (other kernels, other machines) do not change it.
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
 * (that run's best.train_sec) = 1,198.7 images/s, which was 1.006× the trial's speed, so trial 1
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
