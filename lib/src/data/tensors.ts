/**
 * Turns byte images into model input: pixels scaled to [0, 1] as float32, shaped
 * [N, 28, 28, 1]; labels as int32 class ids or one-hot float32 rows.
 */
import * as tf from "@tensorflow/tfjs";
import { NUM_CLASSES } from "./classes";
import type { ImageSet } from "./fashion-mnist";

/** Scales bytes 0–255 to floats 0–1 (a new Float32Array; the bytes are untouched). */
export function normalizePixels(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}

/** Model-ready tensors. */
export interface TensorData {
  xs: tf.Tensor4D;
  ys: tf.Tensor;
}

/**
 * Builds tensors for the selected images (all when `indices` is omitted). `ys` is int32
 * `[N]` labels, or float32 `[N, 10]` one-hot rows with `oneHot: true`. Dispose them when done.
 */
export function toTensors(set: ImageSet, indices?: ArrayLike<number>, opts: { oneHot?: boolean } = {}): TensorData {
  const px = set.rows * set.cols;
  const n = indices ? indices.length : set.count;
  const pixels = new Float32Array(n * px);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = indices ? indices[i] : i;
    if (!Number.isInteger(j) || j < 0 || j >= set.count) throw new Error(`toTensors: index ${j} is outside 0–${set.count - 1}.`);
    const src = set.images.subarray(j * px, (j + 1) * px);
    for (let k = 0; k < px; k++) pixels[i * px + k] = src[k] / 255;
    labels[i] = set.labels[j];
  }
  const xs = tf.tensor4d(pixels, [n, set.rows, set.cols, 1], "float32");
  if (!opts.oneHot) return { xs, ys: tf.tensor1d(labels, "int32") };
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), NUM_CLASSES).toFloat());
  return { xs, ys };
}
