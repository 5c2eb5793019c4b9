// The real dataset through lib: sizes, class balance, no verification cache, tensors.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { CLASS_NAMES, classCounts, clearVerificationCache, loadFashionMnist, selectImages, toTensors } from "../lib/src/data/index";

process.env.XDG_CACHE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-cache-"));

test("the full training and test sets load with 6,000 and 1,000 images per class", () => {
  clearVerificationCache();
  const train = loadFashionMnist("train");
  const testSet = loadFashionMnist("test");
  assert.equal(train.count, 60000);
  assert.equal(testSet.count, 10000);
  assert.equal(train.images.length, 60000 * 28 * 28);
  assert.ok(train.images instanceof Uint8Array);
  assert.deepEqual(classCounts(train.labels), new Array(10).fill(6000));
  assert.deepEqual(classCounts(testSet.labels), new Array(10).fill(1000));
  assert.equal(CLASS_NAMES.length, 10);
  assert.equal(CLASS_NAMES[6], "Shirt");
});

test("no verdict is cached on disk: every load hashes (a cache keyed by size and mtime was forgeable)", () => {
  const cacheFile = path.join(process.env.XDG_CACHE_HOME as string, "fmnist", "verified.json");
  assert.ok(!fs.existsSync(cacheFile), `${cacheFile} should not be written`);
});

test("toTensors scales to [0,1], shapes [N,28,28,1] and one-hot encodes on request", () => {
  const testSet = loadFashionMnist("test");
  const picked = [0, 5, 9999];
  const { xs, ys } = toTensors(testSet, picked);
  assert.deepEqual(xs.shape, [3, 28, 28, 1]);
  assert.equal(xs.dtype, "float32");
  const px = xs.dataSync();
  const raw = testSet.images.subarray(5 * 784, 6 * 784);
  for (let k = 0; k < 784; k++) assert.ok(Math.abs(px[784 + k] - raw[k] / 255) < 1e-7);
  assert.ok(Math.max(...px) <= 1 && Math.min(...px) >= 0);
  assert.deepEqual([...ys.dataSync()], picked.map((i) => testSet.labels[i]));
  const one = toTensors(testSet, picked, { oneHot: true });
  assert.deepEqual(one.ys.shape, [3, 10]);
  const rows = one.ys.arraySync() as number[][];
  rows.forEach((r, i) => {
    assert.equal(r.reduce((a, b) => a + b, 0), 1);
    assert.equal(r[testSet.labels[picked[i]]], 1);
  });
  tf.dispose([xs, ys, one.xs, one.ys]);
  assert.throws(() => toTensors(testSet, [10000]), /index 10000 is outside 0–9999/);
});

test("selectImages copies the chosen images and labels", () => {
  const testSet = loadFashionMnist("test");
  const sub = selectImages(testSet, [3, 1]);
  assert.equal(sub.count, 2);
  assert.deepEqual([...sub.images.subarray(0, 784)], [...testSet.images.subarray(3 * 784, 4 * 784)]);
  assert.deepEqual([...sub.labels], [testSet.labels[3], testSet.labels[1]]);
});
