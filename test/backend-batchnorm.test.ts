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

/** Training-mode batch norm as tfjs-layers composes it: batch moments, then batchNorm. */
function composed(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor {
  const { mean, variance } = tf.moments(x, x.shape.slice(0, -1).map((_, i) => i));
  return tf.batchNorm(x, mean, variance, beta, gamma, 1e-3);
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** Output and gradients (x, γ, β) of a training-mode batch norm under a random upstream gradient. */
function forwardAndGrads(f: (x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor, shape: number[]): Float32Array[] {
  const c = shape[shape.length - 1];
  const x = randomTensor(shape, 11, 1.5);
  const gamma = randomTensor([c], 12, 1) as tf.Tensor1D;
  const beta = randomTensor([c], 13) as tf.Tensor1D;
  const dy = randomTensor(shape, 14);
  const y = f(x, gamma, beta);
  const grads = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => f(xx, g as tf.Tensor1D, b as tf.Tensor1D))([x, gamma, beta], dy);
  return [y, ...grads].map((t) => t.dataSync() as Float32Array);
}

test("batchNormTraining: output and every gradient equal the composed moments + batchNorm, on cpu and on wasm's kernels", async () => {
  const { initBackend, batchNormTraining } = await import("../lib/src/backend/index");
  const ours = (x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor => batchNormTraining(x, g, b, 1e-3);
  // 8 channels run the SIMD loops on wasm, 6 the JavaScript ones; rank 2 is a dense layer's batch norm.
  for (const shape of [[5, 7, 6, 8], [3, 5, 4, 6], [9, 12]]) {
    await tf.setBackend("cpu");
    const reference = forwardAndGrads(composed, shape);
    const cpu = forwardAndGrads(ours, shape);
    await initBackend("wasm");
    const wasm = forwardAndGrads(ours, shape);
    ["y", "dx", "dγ", "dβ"].forEach((what, i) => {
      assert.ok(maxRelDiff(cpu[i], reference[i]) <= 1e-5, `cpu ${what} ${shape}: ${maxRelDiff(cpu[i], reference[i])}`);
      assert.ok(maxRelDiff(wasm[i], reference[i]) <= 1e-5, `wasm ${what} ${shape}: ${maxRelDiff(wasm[i], reference[i])}`);
    });
  }
  assert.throws(() => batchNormTraining(tf.zeros([2, 4]), tf.ones([3]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 1e-3), /gamma and beta must have shape \[4\]/);
});

test("FastBatchNorm: Keras' training output, moving statistics and inference output; survives a save and load", async () => {
  const { FastBatchNorm } = await import("../lib/src/layers");
  await tf.setBackend("cpu");
  const x = randomTensor([6, 5, 5, 8], 21, 2);
  const ours = new FastBatchNorm({ momentum: 0.9 });
  const keras = tf.layers.batchNormalization({ momentum: 0.9 });
  ours.build(x.shape);
  keras.build(x.shape);
  const weights = [randomTensor([8], 22, 1), randomTensor([8], 23), tf.zeros([8]), tf.ones([8])];
  ours.setWeights(weights);
  keras.setWeights(weights);
  for (let step = 0; step < 3; step++) {
    const xs = randomTensor([6, 5, 5, 8], 30 + step, 2);
    const a = (ours.apply(xs, { training: true }) as tf.Tensor).dataSync();
    const b = (keras.apply(xs, { training: true }) as tf.Tensor).dataSync();
    assert.ok(maxRelDiff(a, b) <= 1e-5, `training output, step ${step}`);
  }
  ours.getWeights().forEach((w, i) => assert.ok(maxRelDiff(w.dataSync(), keras.getWeights()[i].dataSync()) <= 1e-6, `weight ${i} after 3 training calls`));
  const inference = (ours.apply(x) as tf.Tensor).dataSync();
  assert.ok(maxRelDiff(inference, (keras.apply(x) as tf.Tensor).dataSync()) <= 1e-6, "inference output (moving statistics)");
  // In a model: saved and loaded with its weights and configuration.
  const model = tf.sequential({ layers: [new FastBatchNorm({ momentum: 0.8, epsilon: 1e-4, inputShape: [5, 5, 8] })] });
  model.layers[0].setWeights(ours.getWeights());
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    saved = artifacts;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
  }));
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
  assert.equal(loaded.layers[0].getClassName(), "FmnistBatchNorm");
  assert.deepEqual([loaded.layers[0].getConfig().momentum, loaded.layers[0].getConfig().epsilon], [0.8, 1e-4]);
  assert.deepEqual(Array.from((loaded.predict(x) as tf.Tensor).dataSync()), Array.from((model.predict(x) as tf.Tensor).dataSync()));
  assert.throws(() => new FastBatchNorm({ momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => new FastBatchNorm({ epsilon: 0 }), /epsilon must be positive/);
});
