/**
 * The per-model routine of the study notebooks: train, evaluate on the test data, optionally save with
 * provenance, and produce the results entry; plus the one-line description of a run.
 */
import type * as tf from "@tensorflow/tfjs";
import type { BackendInfo } from "./backend/index";
import type { Config } from "./config";
import { disposeModel } from "./dispose-model";
import { evaluateModel, type LabelledTensors } from "./evaluate";
import type { TrainHistory } from "./history";
import { buildModel, resolveModelOptions, type ModelName, type ModelOptions, type ResolvedModelOptions } from "./models";
import { saveModel } from "./persist";
import { modelResult, type ModelResult } from "./results";
import { trainModel, type TrainData, type TrainOptions } from "./train";

/** Extra options of {@link trainAndEvaluate}. */
export interface TrainAndEvaluateOptions extends TrainOptions {
  /** Name used for metric keys, progress and the saved folder (default: the model's name). */
  name?: string;
  /**
   * Options the model was built with, recorded in the saved meta.json; when the model is given by its
   * registry name, also the options it is built with (seed and learning rate default to none: pass them).
   */
  modelOptions?: ModelOptions;
  /** Save the trained model to <artifactsDir>/models/<name>/ with this provenance. */
  save?: { artifactsDir: string; config?: Config; splitId?: string; backend?: BackendInfo };
  /** Save the model also when training was interrupted (default false: the saved model stays as it was). */
  saveInterrupted?: boolean;
}

/** What {@link trainAndEvaluate} returns. */
export interface TrainAndEvaluateResult {
  /** The trained model (for a model given by name: built by this call; replaced when the same run name trains again). */
  model: tf.LayersModel;
  history: TrainHistory;
  /** Training was stopped before its last epoch (kernel interrupt, signal or `model.stopTraining`): no test evaluation, not saved. */
  interrupted: boolean;
  /** Loss and accuracy on the test data, when given (never for an interrupted run). */
  test?: { loss: number; acc: number };
  params: number;
  /** Entry for `NotebookResults.models` (an interrupted run's entry is refused by `writeResults`). */
  entry: ModelResult;
  /** Flat "<name>.<metric>" keys for `NotebookResults.metrics`. */
  metrics: Record<string, number>;
  /** Where the model was saved, when `save` was given. */
  savedTo?: string;
}

/** Models this module built from a registry name, by run name: a re-run of the same training frees the previous one. */
const builtByRun = new Map<string, tf.LayersModel>();

/**
 * The per-model routine of the study notebooks: train (see {@link trainModel}), evaluate on the test
 * data, optionally save with provenance, and produce the results entry and flat metrics.
 *
 * Given a registry name instead of a model, it builds a fresh model each call, so re-running a
 * notebook's training cell trains from scratch again (a model passed in would continue from its
 * trained weights); the model the same run name built before is disposed, unless it is still training.
 *
 * Interrupted (kernel interrupt in a notebook, `signal`, `model.stopTraining`): prints one line, skips
 * the test evaluation and the save (unless `saveInterrupted`), and returns the partial history with
 * `interrupted: true`; a notebook cell interrupted this way ends as failed, so cells queued after it
 * do not run.
 * @example const run = await fm.trainAndEvaluate("cnn32", { train, val, test }, { epochs: cfg.epochs, batchSize: cfg.batchSize, seed: cfg.seed, modelOptions: { seed: cfg.seed } });
 */
export async function trainAndEvaluate(modelOrName: tf.LayersModel | ModelName, data: TrainData & { test?: LabelledTensors }, opts: TrainAndEvaluateOptions): Promise<TrainAndEvaluateResult> {
  const byName = typeof modelOrName === "string";
  const name = opts.name ?? (byName ? modelOrName : modelOrName.name);
  let model: tf.LayersModel;
  if (byName) {
    model = buildModel(modelOrName, opts.modelOptions ?? {});
    const previous = builtByRun.get(name);
    builtByRun.set(name, model);
    if (previous && previous !== model) disposeQuietly(previous);
  } else {
    model = modelOrName;
  }
  const history = await trainModel(model, data, { ...opts, label: opts.label ?? name });
  const interrupted = history.interrupted && !history.stoppedEarly;
  const test = data.test && !interrupted ? await evaluateModel(model, data.test, opts.evalBatchSize ?? 512) : undefined;
  const params = model.countParams();
  const { entry, metrics } = modelResult(name, params, history, test);
  if (interrupted) entry.interrupted = true;
  let savedTo: string | undefined;
  if (opts.save && (!interrupted || opts.saveInterrupted)) {
    const { onEpoch: _e, onBatch: _b, signal: _s, save: _v, saveInterrupted: _i, modelOptions, ...training } = opts;
    const recorded = modelOptions ? { ...(byName ? resolveModelOptions(modelOrName, modelOptions) : modelOptions) } : undefined;
    savedTo = await saveModel(model, name, opts.save.artifactsDir, {
      modelOptions: recorded as ResolvedModelOptions | undefined,
      training: { ...training },
      config: opts.save.config,
      splitId: opts.save.splitId,
      backend: opts.save.backend,
      history,
      metrics: entry.metrics,
    });
  }
  if (interrupted) {
    const kept = opts.save && !opts.saveInterrupted ? `not saved (${opts.save.artifactsDir}/models/${name} keeps what was there)` : savedTo ? `partial model saved to ${savedTo}` : "not saved";
    console.log(`${name}: interrupted after ${history.epochsRun} of ${opts.epochs} epoch(s): not evaluated on the test images, ${kept}. Re-run the cell to train again.`);
  }
  return { model, history, interrupted, test, params, entry, metrics, savedTo };
}

function disposeQuietly(model: tf.LayersModel): void {
  try {
    disposeModel(model);
  } catch {
    // Already disposed by the user: nothing left to free.
  }
}

/**
 * One line describing a run for a notebook's output: test accuracy, loss and training time, or that
 * it was interrupted.
 */
export function describeRun(run: TrainAndEvaluateResult): string {
  const h = run.history;
  const name = run.entry.name;
  if (run.interrupted) return `${name}: interrupted after ${h.epochsRun} epoch(s); no test evaluation`;
  const test = run.test ? `test accuracy ${run.test.acc.toFixed(4)}, test loss ${run.test.loss.toFixed(4)}, ` : "";
  const early = h.stoppedEarly ? ` (stopped early after ${h.epochsRun} epochs, best epoch ${h.bestEpoch})` : "";
  return `${name}: ${test}${h.trainSec.toFixed(0)} s of training${early}`;
}
