// The Tile-free FusedBatchNorm gradient gives the same numbers as tfjs's own gradient.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerBatchNormGradient } from "../lib/src/backend/index";
import { createRng } from "../lib/src/random";

function randomTensor(shape: number[], seed: number, offset = 0): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => offset + rng.normal()), shape);
}

test("registerBatchNormGradient keeps every input's gradient identical to upstream's", async () => {
  await tf.setBackend("cpu");
  const x = randomTensor([3, 5, 4, 6], 1);
  const scale = randomTensor([6], 2, 1);
  const offset = randomTensor([6], 3);
  const dy = randomTensor([3, 5, 4, 6], 4);
  // As in tfjs-layers' training mode: mean and variance come from the batch, so their gradients matter too.
  const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor => {
    const { mean, variance } = tf.moments(xx, [0, 1, 2]);
    return tf.batchNorm(xx as tf.Tensor4D, mean, variance, o, s, 1e-3);
  };
  const grads = (): Float32Array[] => tf.grads(f)([x, scale, offset], dy).map((g) => g.dataSync() as Float32Array);
  const upstream = grads();
  registerBatchNormGradient();
  const ours = grads();
  upstream.forEach((u, i) => {
    let maxDiff = 0;
    let maxAbs = 0;
    u.forEach((v, k) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - ours[i][k]));
      maxAbs = Math.max(maxAbs, Math.abs(v));
    });
    assert.ok(maxDiff <= 1e-6 * Math.max(1, maxAbs), `input ${i}: max difference ${maxDiff}`);
  });
});
