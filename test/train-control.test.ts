// Training control: same seed → same history on wasm, early stopping with restore of the best
// weights, interruption between batches, one-hot labels, bad options.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { loadFashionMnist, toTensors } from "../lib/src/data/index";
import { buildModel } from "../lib/src/models";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModel } from "../lib/src/persist";
import { evaluateModel, evaluateWithFlips, predictClasses } from "../lib/src/evaluate";
import { scheduledLearningRate } from "../lib/src/schedules";
import { trainModel, type TrainOptions } from "../lib/src/train";
import { trainAndEvaluate } from "../lib/src/train-and-evaluate";

let train: { xs: tf.Tensor4D; ys: tf.Tensor };
let val: { xs: tf.Tensor4D; ys: tf.Tensor };

before(async () => {
  await initBackend("wasm");
  const set = loadFashionMnist("train");
  train = toTensors(set, Array.from({ length: 600 }, (_, i) => i));
  val = toTensors(set, Array.from({ length: 200 }, (_, i) => 1000 + i));
});

test("same seed → identical history (dropout and augmentation included); another seed → a different one", async () => {
  const run = async (seed: number) => {
    const model = buildModel("dense_regularized", { seed: 7 });
    const opts: TrainOptions = { epochs: 2, batchSize: 32, seed, progress: "none", augment: { shift: 2, flip: true, rotate: 5 } };
    const h = await trainModel(model, { train, val }, opts);
    const w = model.getWeights()[0].dataSync().slice(0, 50);
    model.dispose();
    return { h, w };
  };
  const a = await run(1);
  const b = await run(1);
  const c = await run(2);
  assert.deepEqual(a.h.loss, b.h.loss);
  assert.deepEqual(a.h.acc, b.h.acc);
  assert.deepEqual(a.h.val_loss, b.h.val_loss);
  assert.deepEqual(a.h.val_acc, b.h.val_acc);
  assert.deepEqual(a.w, b.w);
  assert.notDeepEqual(a.h.loss, c.h.loss);
  assert.equal(a.h.val_loss.length, 2);
});

test("early stopping stops after `patience` epochs without improvement and restores the best weights", async () => {
  const model = buildModel("dense_shallow", { seed: 3 });
  const h = await trainModel(model, { train, val }, {
    epochs: 10, batchSize: 32, seed: 3, progress: "none",
    earlyStopping: { patience: 2, monitor: "val_loss", restoreBest: true },
    onEpoch: (log) => {
      // Sabotage after the first epoch: all-zero weights give uniform outputs (loss ln 10) and,
      // through dead ReLUs, almost no gradient, so validation loss cannot beat epoch 1 again.
      if (log.epoch === 1) model.setWeights(model.getWeights().map((w) => tf.zerosLike(w)));
    },
  });
  assert.equal(h.stoppedEarly, true);
  assert.equal(h.epochsRun, 3);
  assert.equal(h.bestEpoch, 1);
  assert.equal(h.restoredBest, true);
  assert.ok(h.val_loss[0] < 1.5 && h.val_loss[1] > 2, `val_loss ${h.val_loss.join(", ")}`);
  const now = await evaluateModel(model, val);
  assert.ok(Math.abs(now.loss - h.val_loss[0]) < 1e-4, `restored model loss ${now.loss} vs best epoch ${h.val_loss[0]}`);
  model.dispose();
});

test("an abort signal stops between batches without recording the partial epoch", async () => {
  const model = buildModel("dense_shallow", { seed: 4 });
  const ctrl = new AbortController();
  let batches = 0;
  const h = await trainModel(model, { train, val }, {
    epochs: 3, batchSize: 32, seed: 4, progress: "none", signal: ctrl.signal,
    onBatch: (b) => { batches += 1; if (b.epoch === 2 && b.batch === 5) ctrl.abort(); },
  });
  assert.equal(h.interrupted, true);
  assert.equal(h.epochsRun, 1);
  assert.equal(h.loss.length, 1);
  assert.equal(batches, Math.ceil(600 / 32) + 5);
  // The model is still usable afterwards.
  const e = await evaluateModel(model, val);
  assert.ok(Number.isFinite(e.loss));
  model.dispose();
});

test("with stopOnSigint, SIGINT (Jupyter's interrupt) stops training after the current batch", async () => {
  const model = buildModel("dense_shallow", { seed: 4 });
  const before = process.listenerCount("SIGINT");
  const h = await trainModel(model, { train }, {
    epochs: 2, batchSize: 32, seed: 4, progress: "none", stopOnSigint: true,
    onBatch: (b) => { if (b.batch === 3) process.emit("SIGINT"); },
  });
  assert.equal(h.interrupted, true);
  assert.equal(h.epochsRun, 0);
  assert.equal(process.listenerCount("SIGINT"), before, "the SIGINT listener was not removed");
  model.dispose();
});

test("one-hot labels train exactly like class indices", async () => {
  const run = async (ys: tf.Tensor) => {
    const model = buildModel("dense_shallow", { seed: 5 });
    const h = await trainModel(model, { train: { xs: train.xs, ys } }, { epochs: 1, batchSize: 64, seed: 5, progress: "none" });
    model.dispose();
    return h.loss[0];
  };
  const oneHot = tf.oneHot(train.ys.toInt(), 10).toFloat();
  const a = await run(train.ys);
  const b = await run(oneHot);
  assert.ok(Math.abs(a - b) < 1e-5, `${a} vs ${b}`);
  oneHot.dispose();
});

test("bad options are rejected with clear messages", async () => {
  const model = buildModel("dense_shallow");
  const base: TrainOptions = { epochs: 1, batchSize: 32, seed: 1, progress: "none" };
  await assert.rejects(trainModel(model, { train }, { ...base, epochs: 0 }), /epochs must be a positive integer/);
  await assert.rejects(trainModel(model, { train }, { ...base, earlyStopping: { patience: 2 } }), /no validation data/);
  await assert.rejects(trainModel(model, { train: { xs: train.xs, ys: val.ys } }, base), /600 images but 200 labels/);
  model.dispose();
});

test("lines progress prints one line per epoch", async () => {
  const model = buildModel("dense_shallow", { seed: 6 });
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.join(" ")); };
  try {
    await trainModel(model, { train, val }, { epochs: 2, batchSize: 32, seed: 6, progress: "lines", label: "probe" });
  } finally {
    console.log = orig;
  }
  assert.equal(lines.filter((l) => /^\[probe\] epoch \d\/2 loss .* val_acc /.test(l)).length, 2, lines.join("\n"));
  assert.ok(lines.some((l) => /^\[probe\] done: 2 epoch\(s\)/.test(l)));
  model.dispose();
});

test("trainAndEvaluate trains, tests, saves with provenance and returns prefixed metrics", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "train-eval-"));
  const model = buildModel("dense_shallow", { seed: 8 });
  const r = await trainAndEvaluate(model, { train, val, test: val }, {
    epochs: 1, batchSize: 32, seed: 8, progress: "none", name: "shallow_probe", save: { artifactsDir: dir, splitId: "s1" },
  });
  assert.equal(r.params, model.countParams());
  assert.equal(r.metrics["shallow_probe.test_acc"], r.test?.acc);
  assert.equal(r.metrics["shallow_probe.val_acc"], r.history.val_acc[0]);
  assert.equal(r.savedTo, path.join(dir, "models", "shallow_probe"));
  const { meta } = await loadModel("shallow_probe", dir);
  assert.equal(meta.training?.epochs, 1);
  assert.equal(meta.splitId, "s1");
  assert.equal(meta.metrics?.test_acc, r.test?.acc);
  model.dispose();
});

test("learning-rate schedules: cosine and step values, and the optimizer really uses them", async () => {
  assert.equal(scheduledLearningRate({ kind: "cosine", minFactor: 0.1 }, 0.01, 0, 5), 0.01);
  assert.ok(Math.abs(scheduledLearningRate({ kind: "cosine", minFactor: 0.1 }, 0.01, 4, 5) - 0.001) < 1e-12);
  assert.ok(Math.abs(scheduledLearningRate({ kind: "cosine", minFactor: 0.1 }, 0.01, 2, 5) - 0.0055) < 1e-12);
  assert.equal(scheduledLearningRate({ kind: "step", everyEpochs: 2, factor: 0.5 }, 0.01, 3, 10), 0.005);
  // A rate of 0 from epoch 2 on: the weights must not move during epoch 2.
  const model = buildModel("dense_shallow", { seed: 9 });
  const snapshots: Float32Array[] = [];
  const h = await trainModel(model, { train }, {
    epochs: 2, batchSize: 64, seed: 9, progress: "none", learningRateSchedule: { kind: "step", everyEpochs: 1, factor: 0 },
    onEpoch: () => { snapshots.push(model.getWeights()[0].dataSync().slice() as Float32Array); },
  });
  assert.deepEqual(h.lr, [0.001, 0]);
  assert.deepEqual(snapshots[1], snapshots[0]);
  assert.equal(model.optimizer.getConfig().learningRate, 0.001, "the compiled rate is restored afterwards");
  await assert.rejects(trainModel(model, { train }, { epochs: 1, batchSize: 32, seed: 1, progress: "none", learningRateSchedule: { kind: "step", everyEpochs: 0, factor: 0.5 } }), /step schedule/);
  model.dispose();
});

test("evaluateWithFlips averages each image's and its mirror's probabilities", async () => {
  // Logits (a, 0) where a is the top-left pixel: the mirror image sees the top-right pixel instead.
  const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 1] }), tf.layers.dense({ units: 2, activation: "softmax" })] });
  model.setWeights([tf.tensor2d([[1, 0], [0, 0], [0, 0], [0, 0]]), tf.zeros([2])]);
  // Image 0: a = 1, top-right −3 → alone class 0 (p 0.73), mirrored class 1 (p 0.95): together class 1.
  // Image 1: a = 3, top-right 2 → class 0 either way.
  const xs = tf.tensor4d([1, -3, 0, 0, 3, 2, 0, 0], [2, 2, 2, 1]);
  const ys = tf.tensor1d([1, 0], "float32");
  assert.deepEqual(Array.from(await predictClasses(model, xs)), [0, 0]);
  await assert.rejects(predictClasses(model, xs, 0), /batchSize must be a positive integer, got 0/);
  const r = await evaluateWithFlips(model, { xs, ys });
  assert.deepEqual(Array.from(r.predicted), [1, 0]);
  assert.equal(r.acc, 1);
  await assert.rejects(evaluateWithFlips(model, { xs: tf.zeros([2, 4]), ys }), /must be \[N, H, W, C\]/);
  model.dispose();
  tf.dispose([xs, ys]);
});
