// Multiply-adds per image counted from a model's layers, checked against counts worked out by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { FastBatchNorm, PlainConv2D } from "../lib/src/layers";
import { buildModel } from "../lib/src/models";
import { disposeModel } from "../lib/src/dispose-model";
import { TRAINING_MACS_PER_FORWARD_MAC, forwardMacsPerImage, layerMacs, modelMacsByLayer, registryTrainingMacsPerImage, trainingMacsPerImage } from "../lib/src/cost";

test("small CNN with the study's own layers (PlainConv2D, FastBatchNorm, max pooling, dense): counted by hand", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({ layers: [
    new PlainConv2D({ name: "c", filters: 4, padding: "same", seed: 1, inputShape: [6, 6, 1] }), // 6·6 positions × 3·3 taps × 1 channel × 4 filters = 1,296
    new FastBatchNorm({ name: "bn" }),                                                         // 6·6·4 elements = 144
    tf.layers.activation({ name: "r", activation: "relu" }),                                    // 0
    tf.layers.maxPooling2d({ name: "p", poolSize: 2, strides: 2 }),                             // 0 (comparisons) → 3×3×4
    tf.layers.flatten({ name: "f" }),                                                           // 0 → 36
    tf.layers.dropout({ name: "d", rate: 0.5 }),                                                // 0
    tf.layers.dense({ name: "h", units: 5, activation: "relu" }),                               // 36 × 5 = 180
    tf.layers.dense({ name: "o", units: 3, activation: "softmax" }),                            // 5 × 3 = 15
  ] });
  assert.deepEqual(modelMacsByLayer(model).map((l) => [l.layer, l.type, l.macs]), [
    ["c", "FmnistPlainConv2D", 1296], ["bn", "FmnistBatchNorm", 144], ["r", "Activation", 0], ["p", "MaxPooling2D", 0],
    ["f", "Flatten", 0], ["d", "Dropout", 0], ["h", "Dense", 180], ["o", "Dense", 15],
  ]);
  assert.equal(forwardMacsPerImage(model), 1635);
  assert.equal(TRAINING_MACS_PER_FORWARD_MAC, 3);
  assert.equal(trainingMacsPerImage(model), 3 * 1635);
  assert.equal(forwardMacsPerImage(model), 1635, "counting reads shapes only: same count again");
  model.dispose();
});

test("small CNN with tfjs-layers' Conv2D (valid, strided), BatchNormalization, average pooling, dense on a rank-3 input: counted by hand", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({ layers: [
    tf.layers.conv2d({ name: "c1", filters: 8, kernelSize: 3, padding: "valid", activation: "relu", inputShape: [10, 10, 2] }), // 8·8 × 3·3 × 2 × 8 = 9,216
    tf.layers.batchNormalization({ name: "bn" }),                                   // 8·8·8 = 512
    tf.layers.averagePooling2d({ name: "ap", poolSize: 2, strides: 2 }),            // one add per input element: 512 → 4×4×8
    tf.layers.conv2d({ name: "c2", filters: 16, kernelSize: 2, strides: 2 }),        // 2·2 × 2·2 × 8 × 16 = 2,048 → 2×2×16
    tf.layers.reshape({ name: "rs", targetShape: [4, 16] }),                         // 0
    tf.layers.dense({ name: "d1", units: 3 }),                                       // 4 positions × 16 × 3 = 192 → [4, 3]
    tf.layers.flatten({ name: "f" }),                                                // 0 → 12
    tf.layers.dense({ name: "d2", units: 10 }),                                      // 12 × 10 = 120
  ] });
  assert.deepEqual(modelMacsByLayer(model).map((l) => l.macs), [9216, 512, 512, 2048, 0, 192, 0, 120]);
  assert.equal(forwardMacsPerImage(model), 12600);
  assert.equal(trainingMacsPerImage(model), 37800);
  model.dispose();
  const gap = tf.sequential({ layers: [tf.layers.globalAveragePooling2d({ name: "g", inputShape: [5, 5, 4] }), tf.layers.dense({ name: "o", units: 2 })] });
  assert.deepEqual(modelMacsByLayer(gap).map((l) => l.macs), [100, 8]); // 5·5·4 adds; 4 × 2
  gap.dispose();
});

test("the registry's best model: 7,643,776 forward multiply-adds per image with 32 filters, and f filters as worked out by hand", async () => {
  await tf.setBackend("cpu");
  // Per image, f filters: conv1 28·28·9·1·f; batch norms 28·28·f + 14·14·2f + 7·7·4f; conv2 14·14·9·f·2f; conv3 7·7·9·2f·4f;
  // dense1 (3·3·4f)·128; dense2 128·10; pooling, relu, dropout and flatten none.
  const byHand = (f: number): number => 28 * 28 * 9 * f + (28 * 28 * f + 14 * 14 * 2 * f + 7 * 7 * 4 * f) + 14 * 14 * 9 * f * 2 * f + 7 * 7 * 9 * 2 * f * 4 * f + 36 * f * 128 + 1280;
  assert.equal(byHand(32), 7643776);
  for (const f of [16, 32, 64]) {
    const model = buildModel("best", { filters: f });
    assert.equal(forwardMacsPerImage(model), byHand(f), `${f} filters`);
    disposeModel(model);
    assert.equal(registryTrainingMacsPerImage("best", { filters: f, dropout: 0.5 }), 3 * byHand(f), `${f} filters, built and freed`);
  }
});

test("a layer without a multiply-add rule is an error, not a free layer", async () => {
  await tf.setBackend("cpu");
  const model = tf.sequential({ layers: [tf.layers.depthwiseConv2d({ name: "dw", kernelSize: 3, inputShape: [8, 8, 2] })] });
  assert.throws(() => layerMacs(model.layers[0]), /no multiply-add rule for layer "dw" of type DepthwiseConv2D/);
  assert.throws(() => forwardMacsPerImage(model), /DepthwiseConv2D/);
  model.dispose();
});
