/**
 * The record of one training run (what trainModel returns, what persist saves beside a model and what
 * results are made from); its own module so that saving does not depend on the training loop.
 */

/** What happened during training, one entry per finished epoch. */
export interface TrainHistory {
  loss: number[];
  acc: number[];
  val_loss: number[];
  val_acc: number[];
  /** Seconds per epoch (including validation). */
  epochSec: number[];
  epochsRun: number;
  stoppedEarly: boolean;
  /** Stopped by the signal, by `model.stopTraining` or by the user (kernel interrupt). */
  interrupted: boolean;
  /** Stopped by a kernel interrupt (SIGINT) in a notebook. */
  interruptedByUser?: boolean;
  /** 1-based epoch with the best monitored value (the last epoch when nothing is monitored). */
  bestEpoch: number;
  /** Whether the weights now in the model are those of {@link bestEpoch}. */
  restoredBest: boolean;
  trainSec: number;
  /** Training samples processed per second (excluding validation). */
  samplesPerSec: number;
  /** Learning rate used in each epoch. */
  lr: number[];
}
