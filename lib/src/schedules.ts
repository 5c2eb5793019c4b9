/**
 * Learning-rate schedules: the rate of each epoch, and setting it on the tfjs optimizers buildModel
 * creates (tfjs has no scheduler of its own for trainOnBatch).
 */
import type * as tf from "@tensorflow/tfjs";

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

/** Throws (naming trainModel, its only caller) when `sch` is not a valid schedule. */
export function validateSchedule(sch: LearningRateSchedule | undefined): void {
  if (sch?.kind === "step" && (!Number.isInteger(sch.everyEpochs) || sch.everyEpochs < 1 || !(sch.factor >= 0 && sch.factor <= 1))) {
    throw new Error(`trainModel: a step schedule needs a whole everyEpochs ≥ 1 and a factor in [0, 1], got ${JSON.stringify(sch)}`);
  }
  if (sch?.kind === "cosine" && sch.minFactor !== undefined && !(sch.minFactor >= 0 && sch.minFactor <= 1)) {
    throw new Error(`trainModel: cosine minFactor must be in [0, 1], got ${sch.minFactor}`);
  }
  if (sch && sch.kind !== "cosine" && sch.kind !== "step") throw new Error(`trainModel: unknown learning-rate schedule ${JSON.stringify(sch)}`);
}

/** Sets the learning rate of the tfjs optimizers buildModel creates (Adam, RMSprop, momentum SGD). */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
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

/** The rate the optimizer was compiled with. */
export function baseLearningRate(optimizer: tf.Optimizer): number {
  const lr = optimizer.getConfig().learningRate;
  if (typeof lr !== "number") throw new Error(`learningRateSchedule: cannot read the learning rate of ${optimizer.getClassName()}`);
  return lr;
}
