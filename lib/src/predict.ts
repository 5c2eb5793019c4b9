/**
 * Class probabilities of selected dataset images, in batches: what the report's "try it" page is
 * compared against (the page must give the same numbers in the browser).
 */
import * as tf from "@tensorflow/tfjs";
import type { ImageSet } from "./data/fashion-mnist";
import { toTensors } from "./data/tensors";
import { readAndDispose } from "./async-reads";

/**
 * The model's output (softmax probabilities) for `set`'s images at `indices` (all when omitted), as
 * one row-major `count × classes` Float32Array. Pixels are scaled to [0, 1] as in training.
 * @example const probs = await predictProbabilities(model, loadFashionMnist("test"), [0, 1, 2]); // 30 numbers
 */
export async function predictProbabilities(model: tf.LayersModel, set: ImageSet, indices?: ArrayLike<number>, batchSize = 256): Promise<Float32Array> {
  const idx = indices ? Array.from(indices) : Array.from({ length: set.count }, (_, i) => i);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`predictProbabilities: batchSize must be a positive integer, got ${batchSize}`);
  let classes = 0;
  let out = new Float32Array(0);
  for (let start = 0; start < idx.length; start += batchSize) {
    const part = idx.slice(start, start + batchSize);
    const { xs, ys } = toTensors(set, part);
    const p = tf.tidy(() => model.predict(xs) as tf.Tensor);
    tf.dispose([xs, ys]);
    if (classes === 0) {
      classes = p.shape[p.shape.length - 1] ?? 0;
      out = new Float32Array(idx.length * classes);
    }
    const data = await readAndDispose<"float32">(p);
    out.set(data, start * classes);
  }
  return out;
}
