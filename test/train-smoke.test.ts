// Training smoke test on the wasm backend with real Fashion-MNIST images: the loss falls within one
// epoch and held-out accuracy is far above chance; no tensors leak from epoch to epoch.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { loadFashionMnist, toTensors } from "../lib/src/data/index";
import { buildModel } from "../lib/src/models";
import { evaluateModel } from "../lib/src/evaluate";
import { trainModel } from "../lib/src/train";

let train: { xs: tf.Tensor4D; ys: tf.Tensor };
let heldOut: { xs: tf.Tensor4D; ys: tf.Tensor };

before(async () => {
  const info = await initBackend("wasm");
  assert.equal(info.name, "wasm");
  const set = loadFashionMnist("train");
  train = toTensors(set, Array.from({ length: 2000 }, (_, i) => i));
  // Held out: 1,000 other training images (the test set stays untouched for the notebooks).
  heldOut = toTensors(set, Array.from({ length: 1000 }, (_, i) => 59000 + i));
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

async function smoke(name: string): Promise<void> {
  const model = buildModel(name, { seed: 1 });
  const batchLosses: number[] = [];
  const before = await evaluateModel(model, heldOut);
  const h = await trainModel(model, { train }, { epochs: 1, batchSize: 32, seed: 1, progress: "none", onBatch: (b) => batchLosses.push(b.loss) });
  const after = await evaluateModel(model, heldOut);
  const first = mean(batchLosses.slice(0, 5));
  const last = mean(batchLosses.slice(-5));
  console.log(`${name} on ${tf.getBackend()}: held-out loss ${before.loss.toFixed(3)} → ${after.loss.toFixed(3)}, acc ${before.acc.toFixed(3)} → ${after.acc.toFixed(3)}; batch loss ${first.toFixed(3)} → ${last.toFixed(3)}; ${h.samplesPerSec.toFixed(0)} samples/s`);
  assert.equal(batchLosses.length, Math.ceil(2000 / 32));
  assert.ok(last < 0.7 * first, `batch loss fell only from ${first} to ${last}`);
  assert.ok(after.loss < before.loss);
  assert.ok(after.acc > 0.5, `held-out accuracy ${after.acc} after one epoch`);
  assert.equal(h.epochsRun, 1);
  assert.equal(h.loss.length, 1);
  model.dispose();
}

test("dense_shallow learns in one epoch on 2,000 real images (wasm)", async () => {
  await smoke("dense_shallow");
});

test("cnn_maxpool learns in one epoch on 2,000 real images (wasm, needs Conv2DBackpropFilter)", async (t) => {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm") === undefined) {
    t.skip("Conv2DBackpropFilter is not registered for wasm (initBackend should register it)");
    return;
  }
  await smoke("cnn_maxpool");
});

test("no tensors leak from one epoch to the next, and trainModel cleans up after itself", async () => {
  const model = buildModel("dense_regularized", { seed: 2 });
  const counts: number[] = [];
  const small = { xs: train.xs.slice(0, 256), ys: train.ys.slice(0, 256) };
  const val = { xs: heldOut.xs.slice(0, 128), ys: heldOut.ys.slice(0, 128) };
  await trainModel(model, { train: small, val }, {
    epochs: 3, batchSize: 32, seed: 2, progress: "none",
    augment: { shift: 2, flip: true }, earlyStopping: { patience: 5, restoreBest: true },
    onEpoch: () => { counts.push(tf.memory().numTensors); },
  });
  assert.equal(counts[1], counts[0], `tensors after epochs: ${counts.join(", ")}`);
  assert.equal(counts[2], counts[0], `tensors after epochs: ${counts.join(", ")}`);
  const settled = tf.memory().numTensors;
  await trainModel(model, { train: small, val }, { epochs: 1, batchSize: 32, seed: 3, progress: "none" });
  assert.equal(tf.memory().numTensors, settled, "a second run left tensors behind");
  model.dispose();
  tf.dispose([small.xs, small.ys, val.xs, val.ys]);
});
