// Model registry contracts: every model builds fresh, maps [N, 28, 28, 1] to [N, 10] probabilities,
// has the parameter count its architecture implies, and is seeded.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { PlainConv2D, SeededDropout } from "../lib/src/layers";
import { MODEL_NAMES, buildModel, describeModel, modelSummary, resolveModelOptions } from "../lib/src/models";

before(async () => {
  await initBackend("wasm");
});

// Parameter formulas, independent of tfjs: 3×3 convolution, dense layer, batch norm (γ, β, moving mean, moving variance).
const conv = (cin: number, cout: number): number => 9 * cin * cout + cout;
/** A convolution followed by batch norm has no bias of its own (the norm's offset plays its part). */
const convNoBias = (cin: number, cout: number): number => 9 * cin * cout;
const dense = (nin: number, nout: number): number => nin * nout + nout;
const bn = (c: number): number => 4 * c;
// Spatial size after a 3×3 "valid" convolution (−2) and a 2×2 max pool (halve, floor).
const EXPECTED_PARAMS: Record<string, number> = {
  dense_shallow: dense(784, 128) + dense(128, 10),
  cnn32: conv(1, 32) + dense(26 * 26 * 32, 128) + dense(128, 10),
  cnn64: conv(1, 64) + dense(26 * 26 * 64, 128) + dense(128, 10),
  cnn_maxpool: conv(1, 32) + dense(13 * 13 * 32, 128) + dense(128, 10),
  // 28 → 26 → 13 → 11 → 5
  cnn_simple: conv(1, 32) + conv(32, 64) + dense(5 * 5 * 64, 128) + dense(128, 10),
  // … → 5 → 3
  cnn_deep: conv(1, 32) + conv(32, 64) + conv(64, 128) + dense(3 * 3 * 128, 128) + dense(128, 10),
  cnn_deeper: conv(1, 32) + conv(32, 64) + conv(64, 128) + dense(3 * 3 * 128, 256) + dense(256, 128) + dense(128, 10),
  dense_regularized: dense(784, 256) + dense(256, 128) + dense(128, 10),
  cnn_augmented: conv(1, 32) + dense(26 * 26 * 32, 128) + dense(128, 10),
  // "same" convolutions: 28 → pool 14 → pool 7 → pool 3
  best: convNoBias(1, 32) + bn(32) + convNoBias(32, 64) + bn(64) + convNoBias(64, 128) + bn(128) + dense(3 * 3 * 128, 128) + dense(128, 10),
};

test("the registry lists exactly the models whose parameter counts we know", () => {
  assert.deepEqual([...MODEL_NAMES].sort(), Object.keys(EXPECTED_PARAMS).sort());
});

for (const name of MODEL_NAMES) {
  test(`${name}: output [N, 10] of probabilities and the parameter count of its architecture`, () => {
    const model = buildModel(name, { seed: 3 });
    try {
      const x = tf.randomUniform([3, 28, 28, 1], 0, 1, "float32", 7);
      const y = model.predict(x) as tf.Tensor;
      assert.deepEqual(y.shape, [3, 10]);
      const sums = Array.from(y.sum(1).dataSync());
      for (const s of sums) assert.ok(Math.abs(s - 1) < 1e-4, `row sums to ${s}`);
      assert.equal(model.countParams(), EXPECTED_PARAMS[name]);
      const summary = modelSummary(model);
      assert.equal(summary.totalParams, EXPECTED_PARAMS[name]);
      assert.equal(summary.rows.reduce((n, r) => n + r.params, 0), EXPECTED_PARAMS[name]);
      assert.equal(summary.rows[summary.rows.length - 1].outputShape, "[N, 10]");
      tf.dispose([x, y]);
    } finally {
      model.dispose();
    }
  });
}

test("best: batch-norm moving statistics are counted but not trainable", () => {
  const model = buildModel("best");
  const s = modelSummary(model);
  assert.equal(s.totalParams - s.trainableParams, 2 * (32 + 64 + 128));
  model.dispose();
});

function weightsOf(model: tf.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

test("the same seed builds identical models, a different seed different ones, and each build is fresh", () => {
  const a = buildModel("cnn_deeper", { seed: 11 });
  const b = buildModel("cnn_deeper", { seed: 11 });
  const c = buildModel("cnn_deeper", { seed: 12 });
  assert.notEqual(a, b);
  const wa = weightsOf(a);
  const wb = weightsOf(b);
  const wc = weightsOf(c);
  wa.forEach((w, i) => assert.deepEqual(w, wb[i], `weight ${i} differs for the same seed`));
  // Kernels (not the zero biases) must differ for another seed.
  const kernels = a.weights.map((w, i) => (w.originalName.includes("kernel") ? i : -1)).filter((i) => i >= 0);
  assert.ok(kernels.length >= 5);
  for (const i of kernels) assert.notDeepEqual(wa[i], wc[i], `kernel ${i} equal across seeds`);
  // Two layers with the same shape in one model must not share initial values.
  const d = buildModel("cnn32", { seed: 5 });
  const e = buildModel("cnn64", { seed: 5 });
  assert.notDeepEqual(d.getWeights()[0].dataSync().slice(0, 32), e.getWeights()[0].dataSync().slice(0, 32));
  for (const m of [a, b, c, d, e]) m.dispose();
});

test("unknown names and options throw with the valid choices", () => {
  assert.throws(() => buildModel("resnet"), (err: Error) => /Unknown model "resnet"/.test(err.message) && err.message.includes("cnn_maxpool") && err.message.includes("best"));
  assert.throws(() => buildModel("cnn32", { filterz: 3 } as never), /Unknown model option "filterz".*filters/);
  assert.throws(() => buildModel("cnn32", { optimizer: "adagrad" as never }), /Unknown optimizer "adagrad"/);
  assert.throws(() => buildModel("cnn32", { learningRate: -1 }), /learningRate must be a positive number/);
  assert.throws(() => describeModel("nope"), /Valid names: dense_shallow/);
});

test("options resolve over the model's defaults and reach the optimizer and layers", () => {
  const o = resolveModelOptions("dense_regularized", { learningRate: 0.01 });
  assert.equal(o.learningRate, 0.01);
  assert.equal(o.l2, describeModel("dense_regularized").defaults.l2);
  assert.ok(o.l2 > 0 && o.dropout > 0);
  const sgd = buildModel("cnn_maxpool", { optimizer: "sgd", learningRate: 0.05, filters: 8 });
  assert.equal(sgd.optimizer.getClassName(), "Momentum");
  assert.equal(sgd.countParams(), conv(1, 8) + dense(13 * 13 * 8, 128) + dense(128, 10));
  assert.equal(buildModel("cnn32", { optimizer: "rmsprop" }).optimizer.getClassName(), "RMSProp");
  assert.equal(describeModel("dense_regularized").training.earlyStopping?.monitor, "val_loss");
});

test("SeededDropout draws a new mask per training call, reproducibly, and is the identity at inference", () => {
  const x = tf.ones([1, 200]);
  const run = (): number[][] => {
    const layer = new SeededDropout({ rate: 0.5, seed: 9 });
    return [0, 1].map(() => Array.from((layer.apply(x, { training: true }) as tf.Tensor).dataSync()));
  };
  const [m1, m2] = run();
  const [n1, n2] = run();
  assert.deepEqual(m1, n1);
  assert.deepEqual(m2, n2);
  assert.notDeepEqual(m1, m2, "two training calls used the same mask");
  const kept = m1.filter((v) => v !== 0);
  assert.ok(kept.length > 60 && kept.length < 140, `kept ${kept.length} of 200 at rate 0.5`);
  for (const v of kept) assert.ok(Math.abs(v - 2) < 1e-6, "kept units are scaled by 1 / (1 − rate)");
  const inference = new SeededDropout({ rate: 0.5, seed: 9 }).apply(x) as tf.Tensor;
  assert.deepEqual(Array.from(inference.dataSync()), Array.from(x.dataSync()));
});

test("best: batch norm tracks its moving statistics with momentum 0.9, so short runs evaluate with current ones", () => {
  const model = buildModel("best");
  const norms = model.layers.filter((l) => l.getClassName() === "FmnistBatchNorm");
  assert.equal(norms.length, 3);
  for (const l of norms) assert.equal(l.getConfig().momentum, 0.9);
  model.dispose();
});

test("PlainConv2D: the numbers of a bias-free linear Conv2D, and no input gradient for the input layer of best", async () => {
  const x = tf.randomNormal([3, 9, 8, 2], 0, 1, "float32", 4);
  for (const padding of ["valid", "same"] as const) {
    const ours = new PlainConv2D({ filters: 5, padding, seed: 11 });
    const keras = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding, useBias: false, activation: "linear" });
    const y = ours.apply(x) as tf.Tensor;
    keras.apply(x);
    keras.setWeights(ours.getWeights());
    const yKeras = keras.apply(x) as tf.Tensor;
    assert.deepEqual(y.shape, yKeras.shape);
    assert.deepEqual(ours.computeOutputShape([null, 9, 8, 2]), [null, ...yKeras.shape.slice(1)]);
    assert.ok(tf.max(tf.abs(tf.sub(y, yKeras))).dataSync()[0] < 1e-5, padding);
  }
  assert.throws(() => new PlainConv2D({ filters: 0, padding: "same", seed: 1 }), /filters must be a positive integer/);
  // One training step of best: every convolution gets a filter gradient, all but the first an input gradient.
  const model = buildModel("best");
  const xs = tf.randomNormal([4, 28, 28, 1], 0, 1, "float32", 5);
  const ys = tf.tensor1d([0, 1, 2, 3], "float32");
  const profile = await tf.profile(async () => {
    await model.trainOnBatch(xs, ys);
  });
  const count = (name: string): number => profile.kernels.filter((k) => k.name === name).length;
  assert.equal(count("Conv2DBackpropFilter"), 3);
  assert.equal(count("Conv2DBackpropInput"), 2);
  model.dispose();
});
