/**
 * Setting up notebook 10's hyperparameter search, in the notebook or from `npm run search`: the profile's budget
 * (trials, epochs, patience, training images), the notebook's FMNIST_TRIALS parameter for a wider search, the
 * trials' training data, the store their results go to, and how a wide search is shared among machines. Nothing
 * here reads a clock: the plan of a sharded search is counted in multiply-adds, so every machine computes the same.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendInfo } from "./backend/select";
import type { Config, ProfileName } from "./config";
import { registryTrainingMacsPerImage } from "./cost";
import { balancedSubset, type Split } from "./data/split";
import type { ImageSet } from "./data/fashion-mnist";
import { toTensors, type TensorData } from "./data/tensors";
import { libraryFingerprint, sha256, spaceFingerprint, TrialStore, type SearchKey } from "./search-store";
import { DEFAULT_SEARCH_SPACE, sampleTrials, spaceSize, type SearchSpace, type Trial } from "./tuning";
import { FULL_PROFILE_COMPUTE_BUDGET, epochMacs } from "./training-plan";

/** How much searching a profile does. */
export interface SearchBudget {
  /** Trials sampled from the space. */
  trials: number;
  /** Most epochs per trial (early stopping on validation loss). */
  epochs: number;
  patience: number;
  /** Training images per trial (a class-balanced subset of the split's training part); null = all of them. */
  images: number | null;
}

/**
 * Per profile. Full: 8 trials of up to 3 epochs on 10,000 images keep the search near 10 minutes on a 2-core
 * machine with the wasm backend, while ranking configurations by what a few epochs show. Quick: a smoke test.
 */
export const SEARCH_BUDGETS: Readonly<Record<ProfileName, Readonly<SearchBudget>>> = Object.freeze({
  quick: Object.freeze({ trials: 3, epochs: 1, patience: 1, images: null }),
  full: Object.freeze({ trials: 8, epochs: 3, patience: 1, images: 10000 }),
});

/** Notebook 10's own parameter: how many trials the search samples (default: the profile's). */
export const TRIALS_PARAMETER = "FMNIST_TRIALS";

/**
 * Reads FMNIST_TRIALS (a whole number from 1 to the space's size) and returns the environment without it, for
 * `resolveConfig` (which rejects FMNIST_* names it does not know). The first k trials of any wider search are the
 * k trials of the narrower one (the sampler draws in order), so widening a search keeps the trials already run.
 */
export function searchParameters(env: NodeJS.ProcessEnv = process.env, space: SearchSpace = DEFAULT_SEARCH_SPACE): { trials?: number; env: NodeJS.ProcessEnv } {
  const rest: NodeJS.ProcessEnv = { ...env };
  delete rest[TRIALS_PARAMETER];
  const raw = env[TRIALS_PARAMETER];
  if (raw === undefined || raw.trim() === "") return { env: rest };
  return { trials: parseTrials(raw, TRIALS_PARAMETER, space), env: rest };
}

/** Parses a trial count; throws naming `source` and the valid range. */
export function parseTrials(raw: string | number, source: string, space: SearchSpace = DEFAULT_SEARCH_SPACE): number {
  const size = spaceSize(space);
  const n = typeof raw === "number" ? raw : /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > size) {
    throw new Error(`${source} = ${JSON.stringify(raw)}: expected a whole number of trials from 1 to ${size} (the search space's size).`);
  }
  return n;
}

/** The profile's budget, with `trials` overriding its trial count. */
export function searchBudget(profile: ProfileName, trials?: number): SearchBudget {
  const base = SEARCH_BUDGETS[profile];
  if (!base) throw new Error(`searchBudget: unknown profile ${JSON.stringify(profile)}.`);
  return { ...base, trials: trials ?? base.trials };
}

/** A search ready to run: its trials, their training data and the store of their results. */
export interface PreparedSearch {
  budget: SearchBudget;
  space: SearchSpace;
  model: string;
  trials: Trial[];
  /** Indices (into the training images) every trial trains on. */
  indices: number[];
  train: TensorData;
  store: TrialStore;
  /** One line: trials, space, budget, store. */
  summary: string;
}

let lastTrain: { key: string; data: TensorData } | undefined;

/**
 * Samples the trials, builds their training tensors (kept for a re-run of the same cell: the same split and
 * indices give back the tensors already built, and different ones free the old) and opens the trial store under
 * `cfg.artifactsDir` for this search's key.
 */
export function prepareSearch(
  cfg: Pick<Config, "profile" | "seed" | "artifactsDir">,
  data: { trainSet: ImageSet; split: Split },
  backend: Pick<BackendInfo, "name" | "versions">,
  opts: { trials?: number; model?: string; space?: SearchSpace } = {},
): PreparedSearch {
  const budget = searchBudget(cfg.profile, opts.trials);
  const space = opts.space ?? DEFAULT_SEARCH_SPACE;
  const model = opts.model ?? "best";
  const pool = data.split.trainIndices;
  const indices = budget.images === null || budget.images >= pool.length ? [...pool] : balancedSubset(data.trainSet.labels, pool, budget.images, cfg.seed);
  const indicesSha256 = sha256(indices.join(","));
  const key: SearchKey = {
    profile: cfg.profile, model, seed: cfg.seed, splitId: data.split.id, searchImages: indices.length, searchIndicesSha256: indicesSha256,
    epochs: budget.epochs, patience: budget.patience, spaceSha256: spaceFingerprint(space), backend: backend.name,
    backendSettings: Object.fromEntries(Object.entries(backend.versions).filter(([k]) => k !== "node").sort(([a], [b]) => a.localeCompare(b))),
    code: libraryFingerprint(),
  };
  const trainKey = `${data.split.id}|${indicesSha256}`;
  if (!lastTrain || lastTrain.key !== trainKey || lastTrain.data.xs.isDisposed) {
    if (lastTrain && !lastTrain.data.xs.isDisposed) tf.dispose([lastTrain.data.xs, lastTrain.data.ys]);
    lastTrain = { key: trainKey, data: toTensors(data.trainSet, indices) };
  }
  const trials = sampleTrials(space, budget.trials, cfg.seed);
  const store = new TrialStore(cfg.artifactsDir, key);
  const summary =
    `search: ${budget.trials} of the space's ${spaceSize(space)} configurations (seed ${cfg.seed}), each up to ${budget.epochs} epoch(s) ` +
    `(patience ${budget.patience}) on ${indices.length.toLocaleString("en-US")} training images; results stored in ${store.dir}`;
  return { budget, space, model, trials, indices, train: lastTrain.data, store, summary };
}

/** Multiply-adds a trial's training costs at most (every epoch run, no early stop), for sharing trials among machines. */
export function trialTrainingMacs(t: Pick<Trial, "filters" | "dropout" | "batchSize">, model: string, images: number, epochs: number): number {
  const perImage = registryTrainingMacsPerImage(model, { filters: t.filters, dropout: t.dropout });
  return epochs * epochMacs({ trainMacsPerImage: perImage, batchSize: t.batchSize }, images, FULL_PROFILE_COMPUTE_BUDGET);
}

/** One machine's share of a search. */
export interface SearchShard {
  index: number;
  trialIds: number[];
  macs: number;
}

/**
 * Shares trials among `count` machines: longest first (by `costOf`), each to the machine with the least work so far
 * (ties: the lowest-numbered). Pure and deterministic: every machine computes the same shares from the same trials.
 */
export function planSearchShards<T extends Pick<Trial, "id">>(trials: readonly T[], count: number, costOf: (t: T) => number): SearchShard[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`planSearchShards: count must be a positive integer, got ${count}.`);
  const shards: SearchShard[] = Array.from({ length: count }, (_, k) => ({ index: k + 1, trialIds: [], macs: 0 }));
  const costed = trials.map((t) => ({ t, cost: costOf(t) }));
  for (const { t, cost } of costed) {
    if (!(Number.isFinite(cost) && cost >= 0)) throw new Error(`planSearchShards: trial ${t.id} costs ${cost}.`);
  }
  costed.sort((a, b) => b.cost - a.cost || a.t.id - b.t.id);
  for (const { t, cost } of costed) {
    let best = shards[0];
    for (const s of shards) if (s.macs < best.macs) best = s;
    best.trialIds.push(t.id);
    best.macs += cost;
  }
  for (const s of shards) s.trialIds.sort((a, b) => a - b);
  return shards;
}
