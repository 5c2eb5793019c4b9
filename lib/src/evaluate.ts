/** Evaluation of a trained model: loss and accuracy, predicted classes, test-time flip averaging. */
import * as tf from "@tensorflow/tfjs";
import { readAndDispose } from "./async-reads";

/** Images [N, 28, 28, 1] (or [N, 784] for flattened inputs) and labels: class indices [N] or one-hot [N, 10]. */
export interface LabelledTensors {
  xs: tf.Tensor;
  ys: tf.Tensor;
}

/** Class-index labels as float [N] (what tfjs's sparse categorical loss and accuracy expect). */
export function toSparseLabels(ys: tf.Tensor, n: number, what: string): tf.Tensor1D {
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

function checkBatchSize(batchSize: number, what: string): void {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`${what}: batchSize must be a positive integer, got ${batchSize}`);
}

/**
 * Predicted class index per image (argmax of the model's output), computed in batches; works on
 * every backend, webgpu included.
 * @example const predicted = await predictClasses(model, data.test.xs);
 */
export async function predictClasses(model: tf.LayersModel, xs: tf.Tensor, batchSize = 512): Promise<Int32Array> {
  checkBatchSize(batchSize, "predictClasses");
  const n = xs.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    // Return the tensor from tidy and read it outside: tidy walks a returned typed array element by element.
    const cls = tf.tidy(() => tf.argMax(model.predict(xs.slice(start, size)) as tf.Tensor, -1));
    out.set(await readAndDispose(cls), start);
  }
  return out;
}

/**
 * Test-time augmentation with horizontal flips: class probabilities averaged over each image
 * and its mirror image (the same flip training augmentation uses), then argmax. Returns the
 * predicted classes and the accuracy against `data.ys`.
 * @example const { acc } = await evaluateWithFlips(model, data.test);
 */
export async function evaluateWithFlips(model: tf.LayersModel, data: LabelledTensors, batchSize = 512): Promise<{ acc: number; predicted: Int32Array }> {
  const n = data.xs.shape[0];
  if (n === 0) throw new Error("evaluateWithFlips: no samples");
  if (data.xs.rank !== 4) throw new Error(`evaluateWithFlips: images must be [N, H, W, C], got shape [${data.xs.shape.join(", ")}]`);
  checkBatchSize(batchSize, "evaluateWithFlips");
  const predicted = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const cls = tf.tidy(() => {
      const x = data.xs.slice(start, size);
      const p = tf.add(model.predict(x) as tf.Tensor, model.predict(tf.reverse(x, 2)) as tf.Tensor);
      return p.argMax(-1);
    });
    predicted.set(await readAndDispose(cls), start);
  }
  const truth = await readAndDispose<"float32">(toSparseLabels(data.ys, n, "evaluateWithFlips"));
  let correct = 0;
  for (let i = 0; i < n; i++) if (predicted[i] === truth[i]) correct++;
  return { acc: correct / n, predicted };
}
