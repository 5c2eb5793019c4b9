/**
 * The training loop shared by every notebook: seeded per-epoch shuffling, optional on-the-fly
 * augmentation, learning-rate schedules (schedules.ts), early stopping, live progress (progress.ts),
 * clean interruption. Evaluation is in evaluate.ts; the per-model routine that also tests and saves,
 * in train-and-evaluate.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { augmentBatch, type AugmentOptions } from "./augment";
import { inNotebook } from "./display";
import { evaluateModel, toSparseLabels, type LabelledTensors } from "./evaluate";
import type { TrainHistory } from "./history";
import { withInterrupts, type InterruptScope } from "./interrupt";
import { createReporter, fmtSec, type EpochLog, type ProgressMode } from "./progress";
import { createRng } from "./random";
import { baseLearningRate, scheduledLearningRate, setLearningRate, validateSchedule, type LearningRateSchedule } from "./schedules";

/** Training data and, optionally, validation data evaluated after each epoch. */
export interface TrainData {
  train: LabelledTensors;
  val?: LabelledTensors;
}

/** Metrics early stopping can watch; "val_*" need validation data. */
export type MonitorName = "val_loss" | "val_acc" | "loss" | "acc";

/** Keras-like early stopping. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping. */
  patience: number;
  /** Watched metric (default "val_loss"); losses must fall, accuracies must rise. */
  monitor?: MonitorName;
  /** Put back the weights of the best epoch when training ends (default true). */
  restoreBest?: boolean;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Seeds the per-epoch shuffles and the augmentation, so a run is reproducible. */
  seed: number;
  earlyStopping?: EarlyStoppingOptions;
  augment?: AugmentOptions;
  onEpoch?: (log: EpochLog) => void | Promise<void>;
  /** Called after every batch with that batch's own loss and accuracy (not running means). */
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number; acc: number }) => void;
  progress?: ProgressMode;
  /** Stops training between two batches; the model keeps the weights of the last finished batch. */
  signal?: AbortSignal;
  /** Name shown in progress output (default: the model's name). */
  label?: string;
  /** Batch size for validation (bigger is faster; default 512). */
  evalBatchSize?: number;
  /** Learning-rate schedule over the epochs (default: constant). */
  learningRateSchedule?: LearningRateSchedule;
  /**
   * Stop after the current batch on SIGINT (Jupyter's "interrupt kernel"). Default: on under tslab,
   * whose own interrupt only abandons the cell and would leave training running in the background;
   * off elsewhere, so Ctrl-C in a terminal still ends the process.
   */
  stopOnSigint?: boolean;
}

function validateOptions(opts: TrainOptions, hasVal: boolean): void {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`trainModel: epochs must be a positive integer, got ${opts.epochs}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`trainModel: batchSize must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`trainModel: seed must be an integer, got ${opts.seed}`);
  validateSchedule(opts.learningRateSchedule);
  const es = opts.earlyStopping;
  if (es) {
    if (!Number.isInteger(es.patience) || es.patience < 0) throw new Error(`trainModel: earlyStopping.patience must be a whole number, got ${es.patience}`);
    const monitor = es.monitor ?? "val_loss";
    if (!["val_loss", "val_acc", "loss", "acc"].includes(monitor)) throw new Error(`trainModel: unknown earlyStopping.monitor "${monitor}"`);
    if (monitor.startsWith("val_") && !hasVal) throw new Error(`trainModel: earlyStopping monitors "${monitor}" but no validation data was given (pass data.val)`);
  }
}

/** Mean of per-batch values weighted by batch size, as Keras reports epoch metrics. */
class RunningMean {
  private sum = 0;
  private n = 0;
  add(v: number, w: number): void {
    this.sum += v * w;
    this.n += w;
  }
  get value(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }
}

/**
 * Trains a compiled model (from `buildModel`) batch by batch with `trainOnBatch`.
 * Each epoch visits the training set in an order drawn from `createRng(seed)` (tfjs's own `fit`
 * shuffles with Math.random, which cannot be seeded), optionally augmenting each batch; validation
 * runs after each epoch. Same seed, same backend, same initial weights → same history.
 * Stopping (signal, `model.stopTraining = true`, early stopping) happens between batches, so the model
 * is always in a consistent state; no tensors are left behind.
 * @example const h = await trainModel(model, { train, val }, { epochs: 10, batchSize: 32, seed: cfg.seed });
 */
export async function trainModel(model: tf.LayersModel, data: TrainData, opts: TrainOptions): Promise<TrainHistory> {
  validateOptions(opts, data.val !== undefined);
  const listen = opts.stopOnSigint ?? inNotebook();
  return withInterrupts((scope) => trainLoop(model, data, opts, scope), { listen });
}

async function trainLoop(model: tf.LayersModel, data: TrainData, opts: TrainOptions, scope: InterruptScope): Promise<TrainHistory> {
  const n = data.train.xs.shape[0];
  if (n === 0) throw new Error("trainModel: the training set is empty");
  const label = opts.label ?? model.name;
  const rng = createRng(opts.seed);
  const batches = Math.ceil(n / opts.batchSize);
  const es = opts.earlyStopping;
  const monitor: MonitorName | undefined = es ? es.monitor ?? "val_loss" : undefined;
  const higherIsBetter = monitor === "val_acc" || monitor === "acc";

  const history: TrainHistory = {
    loss: [], acc: [], val_loss: [], val_acc: [], epochSec: [],
    epochsRun: 0, stoppedEarly: false, interrupted: false, bestEpoch: 0, restoredBest: false, trainSec: 0, samplesPerSec: 0, lr: [],
  };
  const baseLr = baseLearningRate(model.optimizer);

  // ETA from the measured time per batch so far (validation time is small next to training).
  let batchesDone = 0;
  let samplesDone = 0;
  let batchTimeMs = 0;
  let epochIndex = 0;
  let batchInEpoch = 0;
  const eta = (): number => {
    if (batchesDone === 0) return Infinity;
    const left = (opts.epochs - epochIndex) * batches - batchInEpoch;
    return (left * batchTimeMs) / batchesDone / 1000;
  };
  const reporter = createReporter(opts.progress ?? "auto", label, opts.epochs, eta);

  const trainYs = toSparseLabels(data.train.ys, n, "trainModel (train)");
  const valYs = data.val ? toSparseLabels(data.val.ys, data.val.xs.shape[0], "trainModel (val)") : undefined;
  let bestValue = higherIsBetter ? -Infinity : Infinity;
  let bestWeights: tf.Tensor[] | undefined;
  let sinceBest = 0;
  const order = Array.from({ length: n }, (_, i) => i);
  const t0 = Date.now();
  let trainMs = 0;
  model.stopTraining = false;

  const stopRequested = (): boolean => scope.requested || opts.signal?.aborted === true || model.stopTraining;

  try {
    for (epochIndex = 0; epochIndex < opts.epochs; epochIndex++) {
      const epoch = epochIndex + 1;
      const e0 = Date.now();
      rng.shuffle(order);
      const lr = opts.learningRateSchedule ? scheduledLearningRate(opts.learningRateSchedule, baseLr, epochIndex, opts.epochs) : baseLr;
      if (opts.learningRateSchedule) setLearningRate(model.optimizer, lr);
      reporter.epochStart(epoch, batches);
      const lossMean = new RunningMean();
      const accMean = new RunningMean();
      for (batchInEpoch = 0; batchInEpoch < batches; batchInEpoch++) {
        if (stopRequested()) break;
        const b0 = Date.now();
        const start = batchInEpoch * opts.batchSize;
        const idx = order.slice(start, Math.min(start + opts.batchSize, n));
        const [xb, yb] = tf.tidy(() => {
          const it = tf.tensor1d(idx, "int32");
          const x = tf.gather(data.train.xs, it);
          return [opts.augment ? augmentBatch(x as tf.Tensor4D, rng, opts.augment) : x, tf.gather(trainYs, it)];
        });
        let out: number | number[];
        try {
          out = await model.trainOnBatch(xb, yb);
        } finally {
          tf.dispose([xb, yb]);
        }
        const [loss, acc] = Array.isArray(out) ? out : [out, NaN];
        lossMean.add(loss, idx.length);
        accMean.add(acc, idx.length);
        const dt = Date.now() - b0;
        batchTimeMs += dt;
        trainMs += dt;
        batchesDone += 1;
        samplesDone += idx.length;
        reporter.batch(epoch, batchInEpoch + 1, batches, lossMean.value, accMean.value);
        opts.onBatch?.({ epoch, batch: batchInEpoch + 1, batches, loss, acc });
        // trainOnBatch only yields microtasks on wasm/cpu; give the event loop a turn so display
        // messages flush and abort signals fired from timers or SIGINT handlers get through.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (batchInEpoch < batches) {
        // Interrupted mid-epoch: the partial epoch is not recorded as an epoch.
        history.interrupted = true;
        break;
      }
      const log: EpochLog = { epoch, epochs: opts.epochs, loss: lossMean.value, acc: accMean.value, sec: 0 };
      if (data.val && valYs) {
        const v = await evaluateModel(model, { xs: data.val.xs, ys: valYs }, opts.evalBatchSize ?? 512);
        log.val_loss = v.loss;
        log.val_acc = v.acc;
      }
      log.sec = (Date.now() - e0) / 1000;
      history.loss.push(log.loss);
      history.acc.push(log.acc);
      if (log.val_loss !== undefined) history.val_loss.push(log.val_loss);
      if (log.val_acc !== undefined) history.val_acc.push(log.val_acc);
      history.epochSec.push(log.sec);
      history.lr.push(lr);
      history.epochsRun = epoch;

      let extra = "";
      if (monitor && es) {
        const value = monitor === "val_loss" ? log.val_loss! : monitor === "val_acc" ? log.val_acc! : monitor === "loss" ? log.loss : log.acc;
        const delta = es.minDelta ?? 0;
        const improved = higherIsBetter ? value > bestValue + delta : value < bestValue - delta;
        if (improved) {
          bestValue = value;
          history.bestEpoch = epoch;
          sinceBest = 0;
          if (es.restoreBest ?? true) {
            tf.dispose(bestWeights ?? []);
            bestWeights = model.getWeights().map((w) => w.clone());
          }
        } else {
          sinceBest += 1;
          extra = ` (no ${monitor} improvement for ${sinceBest}/${es.patience})`;
        }
      } else {
        history.bestEpoch = epoch;
      }
      reporter.epochEnd(log, extra);
      if (opts.onEpoch) await opts.onEpoch(log);
      // Keras semantics: stop once `patience` epochs in a row brought no improvement.
      if (es && sinceBest > 0 && sinceBest >= es.patience) {
        history.stoppedEarly = true;
        break;
      }
      if (stopRequested()) {
        history.interrupted = true;
        break;
      }
    }
    if (bestWeights && history.bestEpoch !== history.epochsRun) {
      model.setWeights(bestWeights);
      history.restoredBest = true;
    }
  } finally {
    // Leave the optimizer as it was compiled, so a later run starts from the same rate.
    if (opts.learningRateSchedule) setLearningRate(model.optimizer, baseLr);
    tf.dispose(bestWeights ?? []);
    tf.dispose([trainYs, ...(valYs ? [valYs] : [])]);
  }
  if (history.bestEpoch === 0) history.bestEpoch = history.epochsRun;
  history.trainSec = (Date.now() - t0) / 1000;
  history.samplesPerSec = trainMs > 0 ? (samplesDone * 1000) / trainMs : 0;
  if (history.interrupted && scope.requested) history.interruptedByUser = true;
  const how = history.stoppedEarly ? `stopped early after epoch ${history.epochsRun}` : history.interrupted ? `interrupted after ${history.epochsRun} of ${opts.epochs} epoch(s)` : `${history.epochsRun} epoch(s)`;
  const best = history.restoredBest ? `; restored the weights of epoch ${history.bestEpoch}` : "";
  reporter.end(`done: ${how} in ${fmtSec(history.trainSec)} (${history.samplesPerSec.toFixed(0)} samples/s)${best}`);
  return history;
}
