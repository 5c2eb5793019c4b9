/**
 * The data every model notebook starts from: the split written by notebook 02 as tensors,
 * plus the test images (all 10,000 under the full profile, a class-balanced subset under
 * the quick one), so each notebook loads it the same way in one call.
 */
import * as tf from "@tensorflow/tfjs";
import type { Config } from "./config";
import { balancedSubset } from "./data/split";
import { loadFashionMnist, type ImageSet } from "./data/fashion-mnist";
import { loadSplit, type Split } from "./data/split";
import { toTensors, type TensorData } from "./data/tensors";

/** Tensors and provenance for one notebook's training, validation and test. */
export interface StudyData {
  split: Split;
  trainSet: ImageSet;
  testSet: ImageSet;
  train: TensorData;
  val: TensorData;
  test: TensorData;
  /** Indices into the official test set of the images in `test`. */
  testIndices: number[];
  /** Row counts for the results file ("rows.train", "rows.val", "rows.test"). */
  rows: Record<string, number>;
  /**
   * The split's training and then validation images in one set (what notebook 10's final model learns
   * from), built on the first call and kept: a re-run cell gets the same tensors instead of a new copy.
   */
  trainAndVal(): TensorData;
  /** Frees every tensor (trainAndVal's included). */
  dispose(): void;
}

/**
 * Indices into the official test set of the images the notebooks evaluate on: all of them when `testSize`
 * covers the set, else a class-balanced subset seeded by `cfg.seed` (npm run reference hands these to Keras).
 */
export function studyTestIndices(cfg: Pick<Config, "testSize" | "seed">, testLabels: ArrayLike<number>): number[] {
  const all = Array.from({ length: testLabels.length }, (_, i) => i);
  return cfg.testSize >= testLabels.length ? all : balancedSubset(testLabels, all, cfg.testSize, cfg.seed);
}

let last: { key: string; data: StudyData } | undefined;

/**
 * Loads the split artefact for `cfg` and builds the tensors (one-hot labels on request).
 * Calling it again for the same split, sizes and data (a re-run notebook cell) returns the data
 * already loaded, unless it was disposed: re-running a cell neither reloads nor leaks the tensors.
 */
export function loadStudyData(cfg: Config, opts: { oneHot?: boolean } = {}): StudyData {
  const split = loadSplit(cfg);
  const key = JSON.stringify([split.id, cfg.dataDir, cfg.testSize, cfg.seed, opts.oneHot === true]);
  if (last && last.key === key && !last.data.train.xs.isDisposed) return last.data;
  const trainSet = loadFashionMnist("train", { dataDir: cfg.dataDir });
  const testSet = loadFashionMnist("test", { dataDir: cfg.dataDir });
  const testIndices = studyTestIndices(cfg, testSet.labels);
  const train = toTensors(trainSet, split.trainIndices, opts);
  const val = toTensors(trainSet, split.valIndices, opts);
  const test = toTensors(testSet, testIndices, opts);
  let both: TensorData | undefined;
  const data: StudyData = {
    split,
    trainSet,
    testSet,
    train,
    val,
    test,
    testIndices,
    rows: { "rows.train": split.trainIndices.length, "rows.val": split.valIndices.length, "rows.test": testIndices.length },
    trainAndVal: () => {
      if (!both || both.xs.isDisposed) both = toTensors(trainSet, [...split.trainIndices, ...split.valIndices], opts);
      return both;
    },
    dispose: () => tf.dispose([train.xs, train.ys, val.xs, val.ys, test.xs, test.ys, ...(both ? [both.xs, both.ys] : [])]),
  };
  last = { key, data };
  return data;
}
