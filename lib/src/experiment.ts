/**
 * The experiment layer: what every study notebook does around its models, so a notebook is narrative
 * plus calls. `experiment(notebook)` resolves the configuration and the backend and starts the clock;
 * the object it returns loads the study data, trains by registry name with the profile's settings and
 * the registry's recipe, saves with provenance (configuration, split id, backend), and writes the
 * notebook's results file with its header filled in (schema, notebook, profile, createdAt, durationSec,
 * backend, config).
 *
 * Re-running cells: creating the experiment again restarts the clock; `data()` returns the tensors
 * already loaded (see loadStudyData); `train` by name builds a fresh model and frees the one the same
 * run name built before (see trainAndEvaluate); `writeResults` writes only the runs it is given, so a
 * cell run twice is never counted twice. Interrupted training: `trainEach` stops at the interrupted
 * run, and `writeResults` refuses any interrupted run with one plain line, writing nothing.
 */
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { initBackend, type BackendInfo } from "./backend/index";
import { notebookParts, resolveConfig, type Config, type NotebookParts } from "./config";
import { loadSplit } from "./data/split";
import { describeModel, MODEL_NAMES, type ModelName, type ModelOptions } from "./models";
import { cleanError } from "./errors";
import { loadModel, MissingModelError, modelDir, type ModelMeta } from "./persist";
import { readResults, resultsPath, writeResults, type ModelResult, type NotebookResults } from "./results";
import { showModel, type ModelSummaryShown } from "./run-views";
import { loadStudyData, type StudyData } from "./study-data";
import type { LabelledTensors } from "./evaluate";
import type { TrainData } from "./train";
import { describeRun, trainAndEvaluate, type TrainAndEvaluateOptions, type TrainAndEvaluateResult } from "./train-and-evaluate";

/** What a results file records of one model: its entry and its flat "<name>.<metric>" metrics (a training run is one). */
export interface RunRecord {
  entry: ModelResult;
  metrics: Record<string, number>;
}

/** Options of {@link experiment}. */
export interface ExperimentOptions {
  /** The notebook's own part-selecting parameter and its parts, as in its `metadata.fmnist.parts` (see notebookParts). */
  parts?: { parameter: string; values: readonly string[] };
  /** Where FMNIST_* variables are read from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Explicit configuration values, over the environment's (see resolveConfig). */
  overrides?: Partial<Config>;
}

/** Options of {@link Experiment.train}: every training option, each defaulting from the configuration and the registry. */
export interface ExperimentTrainOptions extends Partial<Omit<TrainAndEvaluateOptions, "save">> {
  /** Save the trained model to `<artifactsDir>/models/<name>/` with its provenance (default true). */
  save?: boolean;
}

/** The training a registry model is meant to get under a configuration (see {@link trainingRecipe}). */
export interface TrainingRecipe {
  epochs: number;
  earlyStopping?: TrainAndEvaluateOptions["earlyStopping"];
  augment?: TrainAndEvaluateOptions["augment"];
  learningRateSchedule?: TrainAndEvaluateOptions["learningRateSchedule"];
}

/**
 * A registry model's recipe under `cfg`: the profile's epochs (the registry's own under the full profile,
 * where it names them, e.g. 50 with early stopping for `dense_regularized`), plus the early stopping,
 * augmentation and learning-rate schedule the registry entry asks for.
 */
export function trainingRecipe(name: ModelName, cfg: Config): TrainingRecipe {
  const hint = describeModel(name).training;
  const recipe: TrainingRecipe = { epochs: cfg.profile === "full" && hint.epochs !== undefined ? hint.epochs : cfg.epochs };
  if (hint.earlyStopping) recipe.earlyStopping = { ...hint.earlyStopping };
  if (hint.augment) recipe.augment = { ...hint.augment };
  if (hint.learningRateSchedule) recipe.learningRateSchedule = { ...hint.learningRateSchedule };
  return recipe;
}

/**
 * The results record of a model fitted outside the training loop (a random forest, an SVM): the entry
 * with `metrics` as given, and the flat metrics "<name>.<metric>" plus "<name>.train_sec".
 */
export function fittedResult(name: string, fit: { params: number; trainSec: number; metrics: Record<string, number> }): RunRecord {
  const flat = Object.fromEntries(Object.entries({ ...fit.metrics, train_sec: fit.trainSec }).map(([k, v]) => [`${name}.${k}`, v]));
  return { entry: { name, params: fit.params, trainSec: fit.trainSec, metrics: { ...fit.metrics } }, metrics: flat };
}

/** One notebook's run of the study; see {@link experiment}. */
export interface Experiment {
  /** Notebook file name without extension: the results file's name. */
  readonly notebook: string;
  readonly cfg: Config;
  readonly backend: BackendInfo;
  /** When the experiment started (ms since the epoch): the results' durationSec counts from here. */
  readonly startedAt: number;
  /** The parts this run does (every part by default), when the notebook has parts. */
  readonly parts: NotebookParts | undefined;
  /** Whether this run does `part` (always true for a notebook without parts). */
  includes(part: string): boolean;
  /** The split from notebook 02 as tensors plus the test images, loaded once per kernel; prints one line. */
  data(opts?: { oneHot?: boolean }): StudyData;
  /** Layer table, description and parameter count of a registry model built with the configuration's seed and rate. */
  showModel(name: ModelName, modelOptions?: ModelOptions): ModelSummaryShown;
  /**
   * trainAndEvaluate with the configuration's batch size and seed, the registry recipe's epochs, early
   * stopping, augmentation and schedule (trainingRecipe), the model built with the configuration's seed and
   * learning rate, and saved with its provenance; any option given wins. Prints the run's line.
   */
  train(model: ModelName | tf.LayersModel, data: TrainData & { test?: LabelledTensors }, opts?: ExperimentTrainOptions): Promise<TrainAndEvaluateResult>;
  /** Trains registry models one after another (see train); stops after an interrupted one, which is the last returned. */
  trainEach(names: readonly ModelName[], data: TrainData & { test?: LabelledTensors }, opts?: ExperimentTrainOptions): Promise<TrainAndEvaluateResult[]>;
  /**
   * A saved model, refused when it was trained on another split than this configuration's. `trainedBy` names the
   * notebook that trains and saves it: when the model is missing, the error (one line, no stack) says to run it.
   */
  loadModel(name: string, opts?: { trainedBy?: string }): Promise<{ model: tf.LayersModel; meta: ModelMeta }>;
  /** A model's metrics in another notebook's results for this profile; `{}` (and a printed note) when there are none. */
  resultOf(notebook: string, model: string): Record<string, number>;
  /**
   * Writes `<artifactsDir>/results/<notebook>.json`: the header, then `metrics` followed by every run's flat
   * metrics, and the runs' entries as `models` (absent runs, e.g. parts not done, are skipped). Refuses
   * interrupted runs. Prints and returns the file's path.
   */
  writeResults(r: { metrics?: Record<string, number>; runs?: ReadonlyArray<RunRecord | undefined> }): string;
}

function isModelName(v: unknown): v is ModelName {
  return typeof v === "string" && (MODEL_NAMES as readonly string[]).includes(v);
}

/**
 * Starts a notebook's experiment: resolves the configuration (the notebook's own part parameter
 * removed from it) and initialises the backend. The notebook name is checked first, so a typo fails
 * before anything loads.
 * @example const ex = await fm.experiment("05-cnn-maxpool"); const data = ex.data(); const run = await ex.train("cnn_maxpool", data);
 */
export async function experiment(notebook: string, opts: ExperimentOptions = {}): Promise<Experiment> {
  const startedAt = Date.now();
  const env = opts.env ?? process.env;
  const parts = opts.parts ? notebookParts(opts.parts.parameter, opts.parts.values, env) : undefined;
  const cfg = resolveConfig(parts ? parts.env : env, opts.overrides);
  resultsPath(notebook, cfg.artifactsDir); // validates the name
  const backend = await initBackend(cfg); // its backend request and wasm settings
  let loaded: StudyData | undefined;

  const splitId = (data: object): string => {
    const own = (data as Partial<StudyData>).split?.id;
    if (own !== undefined) return own;
    if (loaded) return loaded.split.id;
    throw new Error(`${notebook}: load the data with ex.data() before training a model to save: the saved model records the split it was trained on.`);
  };

  const ex: Experiment = {
    notebook,
    cfg,
    backend,
    startedAt,
    parts,
    includes: (part) => (parts ? parts.includes(part) : true),
    data(dataOpts = {}) {
      const data = loadStudyData(cfg, dataOpts);
      loaded = data;
      console.log(`profile ${cfg.profile}, split ${data.split.id}: ${data.rows["rows.train"]} training, ${data.rows["rows.val"]} validation, ${data.rows["rows.test"]} test images; backend ${backend.name}`);
      return data;
    },
    showModel: (name, modelOptions = {}) => showModel(name, { seed: cfg.seed, learningRate: cfg.learningRate, ...modelOptions }),
    async train(model, data, trainOpts = {}) {
      const { save = true, modelOptions, ...given } = trainOpts;
      const byName = isModelName(model);
      const recipe = byName ? trainingRecipe(model, cfg) : { epochs: cfg.epochs };
      const { epochs, batchSize, seed, ...rest } = { batchSize: cfg.batchSize, seed: cfg.seed, ...recipe, ...given };
      // Key order as the notebooks wrote it (epochs, batchSize, seed, …): saveModel records these options in meta.json.
      const ordered: TrainAndEvaluateOptions = { epochs, batchSize, seed, ...rest };
      const built = byName ? { seed: cfg.seed, learningRate: cfg.learningRate, ...modelOptions } : modelOptions;
      if (built) ordered.modelOptions = built;
      if (save) ordered.save = { artifactsDir: cfg.artifactsDir, config: cfg, splitId: splitId(data), backend };
      const run = await trainAndEvaluate(model, data, ordered);
      if (!run.interrupted) console.log(describeRun(run));
      return run;
    },
    async trainEach(names, data, trainOpts = {}) {
      const runs: TrainAndEvaluateResult[] = [];
      for (const name of names) {
        const run = await ex.train(name, data, trainOpts);
        runs.push(run);
        if (run.interrupted) break;
      }
      return runs;
    },
    async loadModel(name, opts = {}) {
      let saved: Awaited<ReturnType<typeof loadModel>>;
      try {
        saved = await loadModel(name, cfg.artifactsDir);
      } catch (err) {
        if (!(err instanceof MissingModelError)) throw err;
        const run = opts.trainedBy ? `run notebook ${opts.trainedBy} first (it trains and saves "${name}")` : `run the notebook that trains "${name}" first`;
        throw cleanError(`No saved model "${name}" for the ${cfg.profile} profile in ${path.dirname(modelDir(name, cfg.artifactsDir))}: ${run}, then re-run this cell.`);
      }
      const split = loaded?.split.id ?? loadSplit(cfg).id;
      const { meta } = saved;
      if (meta.splitId !== undefined && meta.splitId !== split) {
        saved.model.dispose();
        throw new Error(`The saved model "${name}" was trained on split ${meta.splitId}, but this profile's split is ${split}: re-run the notebook that trains it for this profile.`);
      }
      console.log(`model "${name}" saved ${meta.createdAt}: ${meta.params.toLocaleString("en-US")} parameters, trained on split ${meta.splitId ?? "?"} with ${meta.backend?.name ?? "?"}`);
      return saved;
    },
    resultOf(other, model) {
      let r: NotebookResults;
      try {
        r = readResults(other, cfg.artifactsDir);
      } catch (err) {
        console.log(`(notebook ${other} has not run yet: ${(err as Error).message.split("\n")[0]})`);
        return {};
      }
      if (r.profile !== cfg.profile) {
        console.log(`(notebook ${other} last ran with the ${r.profile} profile, not ${cfg.profile}: re-run it for comparable figures)`);
        return {};
      }
      return { ...(r.models?.find((m) => m.name === model)?.metrics ?? {}) };
    },
    writeResults(r) {
      const runs = (r.runs ?? []).filter((x): x is RunRecord => x !== undefined);
      const results: NotebookResults = {
        schema: 1,
        notebook,
        profile: cfg.profile,
        createdAt: new Date().toISOString(),
        durationSec: (Date.now() - startedAt) / 1000,
        backend,
        config: cfg,
        metrics: Object.assign({ ...r.metrics }, ...runs.map((x) => x.metrics)) as Record<string, number>,
      };
      if (r.runs !== undefined) results.models = runs.map((x) => x.entry);
      const file = writeResults(results, cfg.artifactsDir);
      console.log(`results written to ${file}`);
      return file;
    },
  };
  return ex;
}
