// The numbers the five write-ups report (from /work/shared/REFERENCE.md), as typed data for the report's comparison table.

/** One reported figure of a write-up. */
export interface ReferenceNumber {
  /** Write-up id (shared/seeds/<id>_*.txt). */
  writeUp: string;
  /** The model as the write-up names it. */
  model: string;
  /** Our model name in the registry (lib/src/models.ts) that reproduces it, if any. */
  ourModel?: string;
  /** Which figure: "val_acc", "test_acc" or "train_acc" (the matching metric of ours is compared). */
  metric: "val_acc" | "test_acc" | "train_acc";
  value: number;
  /** Where the number comes from, as written in the write-up. */
  source: string;
}

/** Reported numbers, each with the write-up wording it was taken from. */
export const REFERENCE_NUMBERS: readonly ReferenceNumber[] = [
  { writeUp: "000", model: "CNN, 32 filters", ourModel: "cnn32", metric: "val_acc", value: 0.9165, source: "val loss 0.2511, acc 0.9165" },
  { writeUp: "000", model: "CNN, 64 filters", ourModel: "cnn64", metric: "val_acc", value: 0.9119, source: "val loss 0.2710, acc 0.9119" },
  { writeUp: "000", model: "CNN + MaxPooling (their best)", ourModel: "cnn_maxpool", metric: "val_acc", value: 0.9152, source: "val loss 0.4081, acc 0.9152" },
  { writeUp: "000", model: "CNN + MaxPooling, tuned (RMSprop)", ourModel: "cnn_maxpool_rmsprop", metric: "val_acc", value: 0.9067, source: "val loss 1.3150, acc 0.9067" },
  { writeUp: "000", model: "best model, classification report", ourModel: "cnn_maxpool", metric: "test_acc", value: 0.91, source: "accuracy 0.91 on 10,000 test images" },
  { writeUp: "001", model: "shallow dense network", ourModel: "dense_shallow", metric: "test_acc", value: 0.8866, source: "test acc 0.8866, loss 0.3321" },
  { writeUp: "001", model: "shallow network with incorrect results", ourModel: "dense_shallow_unnormalised", metric: "test_acc", value: 0.1, source: "\"shallow network with incorrect results\": 10% test accuracy" },
  { writeUp: "001", model: "simple CNN", ourModel: "cnn_simple", metric: "test_acc", value: 0.9105, source: "test acc 0.9105, loss 0.2508" },
  { writeUp: "001", model: "deep CNN", ourModel: "cnn_deep", metric: "test_acc", value: 0.9105, source: "reported identical to the simple CNN (0.9105)" },
  { writeUp: "anchor", model: "TensorFlow tutorial, Dense 128", ourModel: "dense_shallow", metric: "test_acc", value: 0.88, source: "TensorFlow \"Basic classification\": test accuracy about 0.88" },
];
