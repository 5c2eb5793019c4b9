/**
 * Training loop shared by every notebook: seeded per-epoch shuffling, optional on-the-fly
 * augmentation, early stopping, live progress (tslab display or plain lines), clean interruption.
 */
import * as tf from "@tensorflow/tfjs";
import { inNotebook } from "./display";
import { augmentBatch, type AugmentOptions } from "./augment";
import type { BackendInfo } from "./backend/index";
import type { Config } from "./config";
import type { ModelOptions, ResolvedModelOptions } from "./models";
import type { TrainHistory } from "./history";
import { withInterrupts, type InterruptScope } from "./interrupt";
import { disposeModel } from "./dispose-model";
import { buildModel, resolveModelOptions, type ModelName } from "./models";
import { saveModel } from "./persist";
import { createRng } from "./random";
import { modelResult, type ModelResult } from "./results";

export type { TrainHistory } from "./history";

/** Images [N, 28, 28, 1] (or [N, 784] for flattened inputs) and labels: class indices [N] or one-hot [N, 10]. */
export interface LabelledTensors {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

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

/**
 * Learning-rate schedule applied at the start of each epoch, relative to the rate the model was
 * compiled with: "cosine" decays from it to `minFactor` × it over the planned epochs; "step"
 * multiplies it by `factor` every `everyEpochs` epochs.
 */
export type LearningRateSchedule = { kind: "cosine"; minFactor?: number } | { kind: "step"; everyEpochs: number; factor: number };

/** Learning rate of epoch `epochIndex` (0-based) out of `epochs` under `schedule`, starting from `base`. */
export function scheduledLearningRate(schedule: LearningRateSchedule, base: number, epochIndex: number, epochs: number): number {
  if (schedule.kind === "cosine") {
    const min = schedule.minFactor ?? 0.01;
    const t = epochs <= 1 ? 0 : epochIndex / (epochs - 1);
    return base * (min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t)));
  }
  return base * Math.pow(schedule.factor, Math.floor(epochIndex / schedule.everyEpochs));
}

/** Sets the learning rate of the tfjs optimizers buildModel creates (Adam, RMSprop, momentum SGD). */
function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  // By class name: tfjs optimizers define Symbol.hasInstance by duck typing, so instanceof cannot tell them apart.
  const kind = optimizer.getClassName();
  if (kind === "SGD" || kind === "Momentum") {
    (optimizer as tf.SGDOptimizer).setLearningRate(lr); // caches −lr as a tensor; this refreshes it
  } else if (kind === "Adam" || kind === "RMSProp") {
    // tfjs declares the field protected but reads it on every step; there is no public setter.
    (optimizer as unknown as { learningRate: number }).learningRate = lr;
  } else {
    throw new Error(`learningRateSchedule: unsupported optimizer ${kind}`);
  }
}

function baseLearningRate(optimizer: tf.Optimizer): number {
  const lr = optimizer.getConfig().learningRate;
  if (typeof lr !== "number") throw new Error(`learningRateSchedule: cannot read the learning rate of ${optimizer.getClassName()}`);
  return lr;
}

/** One finished epoch, as passed to {@link TrainOptions.onEpoch} and printed by the progress reporters. */
export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  epochs: number;
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  /** Wall time of the epoch including validation, in seconds. */
  sec: number;
}

/** How progress is shown: "auto" = updating display under tslab, lines elsewhere. */
export type ProgressMode = "auto" | "lines" | "none";

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


/** Class-index labels as float [N] (what tfjs's sparse categorical loss and accuracy expect). */
function toSparseLabels(ys: tf.Tensor, n: number, what: string): tf.Tensor1D {
  return tf.tidy(() => {
    if (ys.shape[0] !== n) throw new Error(`${what}: ${n} images but ${ys.shape[0]} labels`);
    if (ys.rank === 1) return ys.toFloat() as tf.Tensor1D;
    if (ys.rank === 2 && ys.shape[1] === 1) return ys.reshape([n]).toFloat() as tf.Tensor1D;
    if (ys.rank === 2) return tf.argMax(ys, 1).toFloat() as tf.Tensor1D;
    throw new Error(`${what}: labels must be class indices [N] or one-hot [N, K], got shape [${ys.shape.join(", ")}]`);
  });
}

/** Loss and accuracy of a compiled model on labelled data (labels as indices or one-hot). */
export async function evaluateModel(model: tf.LayersModel, data: LabelledTensors, batchSize = 512): Promise<{ loss: number; acc: number }> {
  const n = data.xs.shape[0];
  if (n === 0) throw new Error("evaluateModel: no samples");
  const ys = toSparseLabels(data.ys, n, "evaluateModel");
  try {
    const out = model.evaluate(data.xs, ys, { batchSize }) as tf.Scalar[];
    const [loss, acc] = await Promise.all(out.map(async (t) => (await t.data())[0]));
    tf.dispose(out);
    return { loss, acc };
  } finally {
    ys.dispose();
  }
}

interface Reporter {
  epochStart(epoch: number, batches: number): void;
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void;
  epochEnd(log: EpochLog, extra: string): void;
  end(summary: string): void;
}

function fmtSec(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s - m * 60)).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

function epochLine(label: string, log: EpochLog): string {
  const val = log.val_loss !== undefined ? ` val_loss ${log.val_loss.toFixed(4)} val_acc ${(log.val_acc ?? NaN).toFixed(4)}` : "";
  return `[${label}] epoch ${log.epoch}/${log.epochs} loss ${log.loss.toFixed(4)} acc ${log.acc.toFixed(4)}${val} (${fmtSec(log.sec)})`;
}

/** Plain lines: one per epoch, plus one per ~10% of an epoch once an epoch has run for 10 s. */
class LineReporter implements Reporter {
  private t0 = 0;
  private lastPrint = 0;
  private lastDecile = 0;
  constructor(private readonly label: string, private readonly epochs: number, private readonly eta: () => number) {}
  epochStart(): void {
    this.t0 = Date.now();
    this.lastPrint = this.t0;
    this.lastDecile = 0;
  }
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void {
    const decile = Math.floor((10 * done) / batches);
    const now = Date.now();
    if (decile > this.lastDecile && decile < 10 && now - this.lastPrint >= 10_000) {
      this.lastDecile = decile;
      this.lastPrint = now;
      console.log(`[${this.label}] epoch ${epoch}/${this.epochs} ${decile * 10}% (batch ${done}/${batches}) loss ${loss.toFixed(4)} acc ${acc.toFixed(4)} ETA ${fmtSec(this.eta())}`);
    }
  }
  epochEnd(log: EpochLog, extra: string): void {
    console.log(epochLine(this.label, log) + extra);
  }
  end(summary: string): void {
    console.log(`[${this.label}] ${summary}`);
  }
}

interface TslabDisplay {
  html(s: string): void;
}

/** The tslab display factory when running inside a tslab kernel cell, else undefined. */
function tslabNewDisplay(): (() => TslabDisplay) | undefined {
  // inNotebook() also queues the kernel's socket sends (progress redraws are frequent).
  if (!inNotebook()) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tslab = require("tslab") as { newDisplay(): TslabDisplay };
  return () => tslab.newDisplay();
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** One display entry, rewritten in place: finished epochs above, a progress bar for the current one. */
class TslabReporter implements Reporter {
  private readonly lines: string[] = [];
  private current = "";
  private lastDraw = 0;
  private readonly display: TslabDisplay;
  constructor(newDisplay: () => TslabDisplay, private readonly label: string, private readonly epochs: number, private readonly eta: () => number) {
    this.display = newDisplay();
  }
  private detached = false;
  private draw(force = false): void {
    const now = Date.now();
    if (this.detached || (!force && now - this.lastDraw < 500)) return; // redraws cost a kernel message each
    this.lastDraw = now;
    try {
      this.display.html(`<pre style="margin:0">${escapeHtml([...this.lines, this.current].join("\n"))}</pre>`);
    } catch {
      // The cell is gone (interrupted): tslab throws "Not ready". Throwing from here would reject an
      // abandoned promise, and tfjs-wasm's unhandledRejection hook turns that into a kernel crash.
      this.detached = true;
    }
  }
  epochStart(epoch: number, batches: number): void {
    this.current = `[${this.label}] epoch ${epoch}/${this.epochs} 0/${batches}`;
    this.draw(true);
  }
  batch(epoch: number, done: number, batches: number, loss: number, acc: number): void {
    const width = 30;
    const filled = Math.round((width * done) / batches);
    const bar = "█".repeat(filled) + "·".repeat(width - filled);
    this.current = `[${this.label}] epoch ${epoch}/${this.epochs} ${bar} ${done}/${batches} loss ${loss.toFixed(4)} acc ${acc.toFixed(4)} ETA ${fmtSec(this.eta())}`;
    this.draw();
  }
  epochEnd(log: EpochLog, extra: string): void {
    this.lines.push(epochLine(this.label, log) + extra);
    this.current = "";
    this.draw(true);
  }
  end(summary: string): void {
    this.current = `[${this.label}] ${summary}`;
    this.draw(true);
  }
}

class NullReporter implements Reporter {
  epochStart(): void {}
  batch(): void {}
  epochEnd(): void {}
  end(): void {}
}

function validateOptions(opts: TrainOptions, hasVal: boolean): void {
  if (!Number.isInteger(opts.epochs) || opts.epochs < 1) throw new Error(`trainModel: epochs must be a positive integer, got ${opts.epochs}`);
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw new Error(`trainModel: batchSize must be a positive integer, got ${opts.batchSize}`);
  if (!Number.isInteger(opts.seed)) throw new Error(`trainModel: seed must be an integer, got ${opts.seed}`);
  const sch = opts.learningRateSchedule;
  if (sch?.kind === "step" && (!Number.isInteger(sch.everyEpochs) || sch.everyEpochs < 1 || !(sch.factor >= 0 && sch.factor <= 1))) {
    throw new Error(`trainModel: a step schedule needs a whole everyEpochs ≥ 1 and a factor in [0, 1], got ${JSON.stringify(sch)}`);
  }
  if (sch?.kind === "cosine" && sch.minFactor !== undefined && !(sch.minFactor >= 0 && sch.minFactor <= 1)) {
    throw new Error(`trainModel: cosine minFactor must be in [0, 1], got ${sch.minFactor}`);
  }
  if (sch && sch.kind !== "cosine" && sch.kind !== "step") throw new Error(`trainModel: unknown learning-rate schedule ${JSON.stringify(sch)}`);
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
  const mode = opts.progress ?? "auto";
  const newDisplay = mode === "auto" ? tslabNewDisplay() : undefined;
  const reporter: Reporter =
    mode === "none" ? new NullReporter() : newDisplay ? new TslabReporter(newDisplay, label, opts.epochs, eta) : new LineReporter(label, opts.epochs, eta);

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

/** Predicted class index per image (argmax of the model's output), computed in batches. */
export function predictClasses(model: tf.LayersModel, xs: tf.Tensor, batchSize = 512): Int32Array {
  const out = new Int32Array(xs.shape[0]);
  for (let start = 0; start < xs.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, xs.shape[0] - start);
    // Return the tensor from tidy and read it outside: tidy walks a returned typed array element by element.
    const cls = tf.tidy(() => (model.predict(xs.slice(start, size)) as tf.Tensor).argMax(-1));
    out.set(cls.dataSync() as Int32Array, start);
    cls.dispose();
  }
  return out;
}

/**
 * Test-time augmentation with horizontal flips: class probabilities averaged over each image
 * and its mirror image (the same flip training augmentation uses), then argmax. Returns the
 * predicted classes and the accuracy against `data.ys`.
 * @example const { acc } = evaluateWithFlips(model, data.test);
 */
export function evaluateWithFlips(model: tf.LayersModel, data: LabelledTensors, batchSize = 512): { acc: number; predicted: Int32Array } {
  const n = data.xs.shape[0];
  if (n === 0) throw new Error("evaluateWithFlips: no samples");
  if (data.xs.rank !== 4) throw new Error(`evaluateWithFlips: images must be [N, H, W, C], got shape [${data.xs.shape.join(", ")}]`);
  const predicted = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const cls = tf.tidy(() => {
      const x = data.xs.slice(start, size);
      const p = tf.add(model.predict(x) as tf.Tensor, model.predict(tf.reverse(x, 2)) as tf.Tensor);
      return p.argMax(-1);
    });
    predicted.set(cls.dataSync() as Int32Array, start);
    cls.dispose();
  }
  const labels = toSparseLabels(data.ys, n, "evaluateWithFlips");
  const truth = labels.dataSync();
  labels.dispose();
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === truth[i]) correct++;
  return { acc: correct / n, predicted };
}
