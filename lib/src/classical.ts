/**
 * Classical (non-deep) baselines for the study: a seeded random forest on pixel bytes and a
 * one-vs-rest linear SVM trained on tfjs, plus Zalando's published scikit-learn figures.
 */
import * as tf from "@tensorflow/tfjs";
import { createRng, type Rng } from "./random";
import { readAndDispose } from "./async-reads";

/** Zalando's scikit-learn benchmark accuracies on the Fashion-MNIST test set (best setting per model). */
export const ZALANDO_BENCHMARK = {
  source: "Xiao, Rasul, Vollgraf 2017, arXiv:1708.07747, Table 3 (approximate best settings)",
  accuracy: {
    SVC_rbf: 0.897,
    GradientBoosting: 0.88,
    RandomForest: 0.873,
    MLPClassifier: 0.871,
    KNeighbors: 0.86,
    LogisticRegression: 0.842,
  },
} as const;

/** A trained classifier over flat pixel bytes (N × features, row-major). */
export interface ByteClassifier {
  predict(images: Uint8Array, count: number): Int32Array;
  trainSec: number;
}

/** Random-forest options; defaults follow scikit-learn's classifier (sqrt features per split, bootstrap, gini). */
export interface RandomForestOptions {
  numTrees?: number;
  /** Features tried at each split; default floor(sqrt(features)) like sklearn's "sqrt". */
  maxFeatures?: number;
  maxDepth?: number;
  minSamplesSplit?: number;
  seed?: number;
  numClasses?: number;
}

/**
 * Histogram bins per feature: pixel bytes >> 3. 32 thresholds per pixel cost little accuracy
 * and make each split search linear in the node size (no sorting).
 */
const BIN_SHIFT = 3;
const NUM_BINS = 256 >> BIN_SHIFT;

interface Tree {
  feature: Int32Array; // -1 marks a leaf
  threshold: Int32Array; // go left when bin <= threshold
  left: Int32Array;
  right: Int32Array;
  leafProbs: Float32Array; // numClasses per node (only leaves are filled)
}

/**
 * Trains a random forest on byte features (e.g. Fashion-MNIST pixels). Why our own and not
 * `ml-random-forest`: measured here, ml-random-forest 2.1.0 took 194 s for 1,000 images × 10
 * trees (and samples features per tree, not per split), too slow for 784 features.
 * @param images N × features bytes, row-major. @param labels N class ids.
 */
export function trainRandomForest(
  images: Uint8Array,
  labels: ArrayLike<number>,
  features: number,
  opts: RandomForestOptions = {},
): ByteClassifier {
  const n = labels.length;
  if (!Number.isInteger(features) || features <= 0) throw new Error(`trainRandomForest: features must be a positive integer, got ${features}.`);
  if (images.length !== n * features) {
    throw new Error(`trainRandomForest: images has ${images.length} bytes, expected labels.length × features = ${n * features}.`);
  }
  if (n === 0) throw new Error("trainRandomForest: no training rows.");
  const numClasses = opts.numClasses ?? 10;
  for (let i = 0; i < n; i++) {
    const c = labels[i];
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`trainRandomForest: label ${c} at row ${i} is outside 0–${numClasses - 1}.`);
  }
  const numTrees = opts.numTrees ?? 100;
  const mtry = Math.min(features, opts.maxFeatures ?? Math.max(1, Math.floor(Math.sqrt(features))));
  const maxDepth = opts.maxDepth ?? 1000;
  const minSplit = Math.max(2, opts.minSamplesSplit ?? 2);
  const rng = createRng(opts.seed ?? 0);
  const t0 = performance.now();
  const bins = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) bins[i] = images[i] >> BIN_SHIFT;
  const trees: Tree[] = [];
  for (let t = 0; t < numTrees; t++) {
    const sample = new Int32Array(n);
    for (let i = 0; i < n; i++) sample[i] = rng.int(n); // bootstrap
    trees.push(buildTree(bins, labels, features, sample, { numClasses, mtry, maxDepth, minSplit }, rng));
  }
  const trainSec = (performance.now() - t0) / 1000;
  return {
    trainSec,
    predict(x: Uint8Array, count: number): Int32Array {
      if (x.length !== count * features) throw new Error(`RandomForest.predict: got ${x.length} bytes, expected ${count} × ${features}.`);
      const out = new Int32Array(count);
      const votes = new Float64Array(numClasses);
      for (let r = 0; r < count; r++) {
        votes.fill(0);
        const base = r * features;
        for (const tree of trees) {
          let node = 0;
          while (tree.feature[node] >= 0) {
            node = x[base + tree.feature[node]] >> BIN_SHIFT <= tree.threshold[node] ? tree.left[node] : tree.right[node];
          }
          for (let c = 0; c < numClasses; c++) votes[c] += tree.leafProbs[node * numClasses + c];
        }
        let best = 0;
        for (let c = 1; c < numClasses; c++) if (votes[c] > votes[best]) best = c;
        out[r] = best;
      }
      return out;
    },
  };
}

/** Grows one CART tree (gini, best histogram threshold over `mtry` random features per node). */
function buildTree(
  bins: Uint8Array,
  labels: ArrayLike<number>,
  features: number,
  sample: Int32Array,
  p: { numClasses: number; mtry: number; maxDepth: number; minSplit: number },
  rng: Rng,
): Tree {
  const K = p.numClasses;
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const probs: number[] = [];
  const hist = new Float64Array(NUM_BINS * K);
  const featPool = Array.from({ length: features }, (_, i) => i);
  const counts = new Float64Array(K);
  const leftCounts = new Float64Array(K);
  const idx = sample; // partitioned in place; a node owns idx[start, end)
  const newNode = (): number => {
    feature.push(-1); threshold.push(0); left.push(-1); right.push(-1);
    for (let c = 0; c < K; c++) probs.push(0);
    return feature.length - 1;
  };
  const stack: Array<{ node: number; start: number; end: number; depth: number }> = [{ node: newNode(), start: 0, end: idx.length, depth: 0 }];
  while (stack.length > 0) {
    const { node, start, end, depth } = stack.pop()!;
    const m = end - start;
    counts.fill(0);
    for (let i = start; i < end; i++) counts[labels[idx[i]]]++;
    let parentSq = 0;
    let nonZero = 0;
    for (let c = 0; c < K; c++) { parentSq += counts[c] * counts[c]; if (counts[c] > 0) nonZero++; }
    const makeLeaf = (): void => { for (let c = 0; c < K; c++) probs[node * K + c] = counts[c] / m; };
    if (nonZero <= 1 || m < p.minSplit || depth >= p.maxDepth) { makeLeaf(); continue; }
    // Maximising sum_left(c²)/nL + sum_right(c²)/nR is the same as minimising weighted gini.
    let bestScore = parentSq / m + 1e-12;
    let bestF = -1;
    let bestT = 0;
    for (let k = 0; k < p.mtry; k++) {
      const j = k + rng.int(features - k); // partial Fisher–Yates: mtry distinct features
      const f = featPool[j]; featPool[j] = featPool[k]; featPool[k] = f;
      hist.fill(0);
      for (let i = start; i < end; i++) hist[bins[idx[i] * features + f] * K + labels[idx[i]]]++;
      leftCounts.fill(0);
      let nL = 0;
      for (let b = 0; b < NUM_BINS - 1; b++) {
        let added = 0;
        for (let c = 0; c < K; c++) { const h = hist[b * K + c]; leftCounts[c] += h; added += h; }
        if (added === 0) continue;
        nL += added;
        const nR = m - nL;
        if (nR === 0) break;
        let sL = 0, sR = 0;
        for (let c = 0; c < K; c++) { const l = leftCounts[c]; const r = counts[c] - l; sL += l * l; sR += r * r; }
        const score = sL / nL + sR / nR;
        if (score > bestScore) { bestScore = score; bestF = f; bestT = b; }
      }
    }
    if (bestF < 0) { makeLeaf(); continue; }
    let i = start, j = end - 1;
    while (i <= j) {
      if (bins[idx[i] * features + bestF] <= bestT) i++;
      else { const tmp = idx[i]; idx[i] = idx[j]; idx[j] = tmp; j--; }
    }
    feature[node] = bestF; threshold[node] = bestT;
    const l = newNode(), r = newNode();
    left[node] = l; right[node] = r;
    stack.push({ node: l, start, end: i, depth: depth + 1 }, { node: r, start: i, end, depth: depth + 1 });
  }
  return {
    feature: Int32Array.from(feature), threshold: Int32Array.from(threshold),
    left: Int32Array.from(left), right: Int32Array.from(right), leafProbs: Float32Array.from(probs),
  };
}

/** Linear-SVM options: one-vs-rest, squared hinge + L2 (like sklearn's LinearSVC), Adam on minibatches. */
export interface LinearSvmOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** L2 weight on ||W||² (per-sample loss scale). */
  l2?: number;
  seed?: number;
  numClasses?: number;
}

/** A trained linear SVM; call dispose() to free its weights. */
export interface LinearSvm {
  predict(xs: tf.Tensor2D): Promise<Int32Array>;
  dispose(): void;
  trainSec: number;
}

/**
 * Trains a one-vs-rest linear SVM on tfjs (runs on whichever backend is active).
 * @param xs [N, features] float32, e.g. pixels / 255. @param ys N class ids.
 */
export async function trainLinearSvm(xs: tf.Tensor2D, ys: ArrayLike<number>, opts: LinearSvmOptions = {}): Promise<LinearSvm> {
  const [n, d] = xs.shape;
  if (ys.length !== n) throw new Error(`trainLinearSvm: ${ys.length} labels for ${n} rows.`);
  const K = opts.numClasses ?? 10;
  const epochs = opts.epochs ?? 10;
  const batchSize = opts.batchSize ?? 128;
  const l2 = opts.l2 ?? 1e-4;
  const rng = createRng(opts.seed ?? 0);
  const signs = new Float32Array(n * K).fill(-1);
  for (let i = 0; i < n; i++) {
    const c = ys[i];
    if (!Number.isInteger(c) || c < 0 || c >= K) throw new Error(`trainLinearSvm: label ${c} at row ${i} is outside 0–${K - 1}.`);
    signs[i * K + c] = 1;
  }
  const t0 = performance.now();
  // Zero init: the objective is convex, so no random init is needed and the run stays seed-only.
  const w = tf.variable(tf.zeros([d, K]), true, undefined);
  const b = tf.variable(tf.zeros([K]), true, undefined);
  const yT = tf.tensor2d(signs, [n, K]);
  const optimizer = tf.train.adam(opts.learningRate ?? 1e-2);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let e = 0; e < epochs; e++) {
    rng.shuffle(order);
    for (let s = 0; s < n; s += batchSize) {
      const batchIdx = tf.tensor1d(order.slice(s, s + batchSize), "int32");
      optimizer.minimize(() => {
        const xb = tf.gather(xs, batchIdx);
        const yb = tf.gather(yT, batchIdx);
        const margin = tf.relu(tf.sub(1, tf.mul(yb, tf.add(tf.matMul(xb, w), b))));
        return tf.add(tf.mean(tf.sum(tf.square(margin), 1)), tf.mul(l2, tf.sum(tf.square(w)))) as tf.Scalar;
      });
      batchIdx.dispose();
    }
    await tf.nextFrame(); // let a notebook kernel breathe between epochs
  }
  yT.dispose();
  optimizer.dispose();
  const trainSec = (performance.now() - t0) / 1000;
  return {
    trainSec,
    async predict(x: tf.Tensor2D): Promise<Int32Array> {
      if (x.shape[1] !== d) throw new Error(`LinearSvm.predict: expected ${d} features, got ${x.shape[1]}.`);
      const pred = tf.tidy(() => tf.argMax(tf.add(tf.matMul(x, w), b), 1));
      // Read outside tidy (tidy walks returned typed arrays, which is pathologically slow for large arrays).
      return Int32Array.from(await readAndDispose(pred));
    },
    dispose(): void { w.dispose(); b.dispose(); },
  };
}
