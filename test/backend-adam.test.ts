// The fused Adam step on wasm gives bit-for-bit the numbers of tf.train.adam (weights, moments,
// iteration count), follows learning-rate changes, and leaks nothing.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ADAM_STEP, FusedAdamOptimizer, initBackend } from "../lib/src/backend/index";
import { createRng } from "../lib/src/random";

before(async () => {
  await initBackend("wasm");
});

function data(seed: number): { xs: tf.Tensor; ys: tf.Tensor } {
  const rng = createRng(seed);
  const xs = tf.tensor4d(Float32Array.from({ length: 16 * 8 * 8 }, () => rng.normal()), [16, 8, 8, 1]);
  const ys = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 3), "float32");
  return { xs, ys };
}

function model(optimizer: tf.Optimizer): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  m.compile({ optimizer, loss: "sparseCategoricalCrossentropy" });
  return m;
}

async function train(optimizer: tf.Optimizer, steps: number, lrAt?: (step: number) => number): Promise<{ weights: Float32Array[]; state: Float32Array[]; losses: number[] }> {
  const m = model(optimizer);
  const { xs, ys } = data(1);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    if (lrAt) (optimizer as unknown as { learningRate: number }).learningRate = lrAt(i);
    losses.push((await m.trainOnBatch(xs, ys)) as number);
  }
  const weights = m.getWeights().map((w) => w.dataSync() as Float32Array);
  const state = (await optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array);
  m.dispose();
  tf.dispose([xs, ys]);
  return { weights, state, losses };
}

test("FusedAdamOptimizer on wasm equals tf.train.adam bit for bit, learning-rate changes included", async () => {
  await tf.setBackend("wasm");
  assert.ok(tf.getKernel(ADAM_STEP, "wasm"), "the fused kernel is registered, so the comparison exercises it");
  for (const lrAt of [undefined, (i: number) => 0.01 / (1 + i)]) {
    const upstream = await train(tf.train.adam(0.01), 12, lrAt);
    const fused = new FusedAdamOptimizer(0.01);
    const ours = await train(fused, 12, lrAt);
    assert.equal(fused.getClassName(), "Adam");
    assert.deepEqual(ours.losses, upstream.losses);
    assert.equal(ours.weights.length, upstream.weights.length);
    ours.weights.forEach((w, i) => assert.deepEqual(w, upstream.weights[i], `weight ${i}`));
    assert.equal(ours.state.length, upstream.state.length, "iterations + first and second moments");
    ours.state.forEach((w, i) => assert.deepEqual(w, upstream.state[i], `optimizer weight ${i}`));
  }
});

test("FusedAdamOptimizer: no tensor leaks once warm; the cpu backend uses the upstream update", async () => {
  await tf.setBackend("wasm");
  const opt = new FusedAdamOptimizer(0.01);
  const m = model(opt);
  const { xs, ys } = data(2);
  await m.trainOnBatch(xs, ys);
  const count = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) await m.trainOnBatch(xs, ys);
  assert.equal(tf.memory().numTensors, count);
  m.dispose();
  opt.dispose();
  tf.dispose([xs, ys]);
  await tf.setBackend("cpu");
  const upstream = await train(tf.train.adam(0.01), 4);
  const ours = await train(new FusedAdamOptimizer(0.01), 4);
  ours.weights.forEach((w, i) => assert.deepEqual(w, upstream.weights[i]));
  await tf.setBackend("wasm");
});
