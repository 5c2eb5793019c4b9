/** Classical baselines: random forest and linear SVM learn real Fashion-MNIST and are seed-deterministic. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { trainRandomForest, trainLinearSvm, ZALANDO_BENCHMARK } from "../lib/src/classical";
import { loadFashionMnist } from "../lib/src/data/fashion-mnist";
import { accuracy } from "../lib/src/metrics";
import { initBackend } from "../lib/src/backend/index";

const PX = 784;
const train = loadFashionMnist("train");
const evalSet = loadFashionMnist("test");
const N_TRAIN = 2000;
const N_TEST = 1000;
const xTrain = train.images.subarray(0, N_TRAIN * PX);
const yTrain = train.labels.subarray(0, N_TRAIN);
const xTest = evalSet.images.subarray(0, N_TEST * PX);
const yTest = evalSet.labels.subarray(0, N_TEST);

test("random forest beats chance clearly and is deterministic by seed", () => {
  const a = trainRandomForest(xTrain, yTrain, PX, { numTrees: 10, seed: 7 });
  const b = trainRandomForest(xTrain, yTrain, PX, { numTrees: 10, seed: 7 });
  const pa = a.predict(xTest, N_TEST);
  assert.deepEqual(pa, b.predict(xTest, N_TEST));
  assert.ok(accuracy(yTest, pa) > 0.6, `accuracy ${accuracy(yTest, pa)}`);
  const c = trainRandomForest(xTrain, yTrain, PX, { numTrees: 10, seed: 8 });
  assert.notDeepEqual(pa, c.predict(xTest, N_TEST));
});

test("random forest rejects mismatched input", () => {
  assert.throws(() => trainRandomForest(xTrain, yTrain.subarray(0, 10), PX), /expected labels.length/);
  assert.throws(() => trainRandomForest(new Uint8Array(4), [0, 11], 2), /outside/);
});

test("random forest fits a separable toy problem exactly", () => {
  // One informative feature (bytes 0–100 → class 0, 200–255 → class 1) and one noise feature.
  const x = new Uint8Array(200 * 2);
  const y: number[] = [];
  for (let i = 0; i < 200; i++) {
    const cls = i % 2;
    x[i * 2] = cls === 0 ? i % 100 : 200 + (i % 50);
    x[i * 2 + 1] = (i * 37) % 256;
    y.push(cls);
  }
  const rf = trainRandomForest(x, y, 2, { numTrees: 5, maxFeatures: 2, seed: 1, numClasses: 2 });
  assert.deepEqual(Array.from(rf.predict(x, 200)), y);
});

test("linear SVM beats chance clearly and is deterministic by seed", async () => {
  await initBackend("wasm");
  const toX = (bytes: Uint8Array, n: number) => tf.tensor2d(Float32Array.from(bytes, (v) => v / 255), [n, PX]);
  const xs = toX(xTrain, N_TRAIN);
  const xt = toX(xTest, N_TEST);
  const a = await trainLinearSvm(xs, yTrain, { epochs: 3, seed: 3 });
  const b = await trainLinearSvm(xs, yTrain, { epochs: 3, seed: 3 });
  const pa = await a.predict(xt);
  assert.deepEqual(pa, await b.predict(xt));
  assert.ok(accuracy(yTest, pa) > 0.6, `accuracy ${accuracy(yTest, pa)}`);
  a.dispose(); b.dispose(); xs.dispose(); xt.dispose();
});

test("Zalando reference figures carry their source", () => {
  assert.match(ZALANDO_BENCHMARK.source, /1708\.07747/);
  assert.equal(ZALANDO_BENCHMARK.accuracy.RandomForest, 0.873);
});
