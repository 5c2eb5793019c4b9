/**
 * Reads of results that work on every backend. On webgpu in Node, synchronous reads of GPU
 * tensors (`dataSync`, `arraySync`) fail ("OffscreenCanvas is not defined"): code that must run
 * there reads with `await t.data()`, as these helpers do.
 */
import * as tf from "@tensorflow/tfjs";

/**
 * Predicted class index of every image, in batches, read asynchronously (works on webgpu too).
 * @example const predicted = await predictClassesAsync(model, data.test.xs);
 */
export async function predictClassesAsync(model: tf.LayersModel, xs: tf.Tensor, batchSize = 512): Promise<Int32Array> {
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`predictClassesAsync: batchSize must be a positive integer, got ${batchSize}`);
  const n = xs.shape[0];
  const out = new Int32Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const cls = tf.tidy(() => {
      const batch = xs.slice(start, size);
      return tf.argMax(model.predict(batch) as tf.Tensor, -1);
    });
    try {
      out.set((await cls.data()) as Int32Array, start);
    } finally {
      cls.dispose();
    }
  }
  return out;
}

/** A scalar tensor's value, read asynchronously (works on webgpu too). */
export async function scalarValue(t: tf.Tensor): Promise<number> {
  if (t.size !== 1) throw new Error(`scalarValue: expected a single value, got shape [${t.shape.join(", ")}]`);
  return (await t.data())[0];
}
