// The hyperparameter search: seeded distinct trials inside the space, and a tiny real search.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { loadFashionMnist, balancedSubset, toTensors } from "../lib/src/data/index";
import { DEFAULT_SEARCH_SPACE, bestTrial, runSearch, sampleTrials, spaceSize, type TrialResult } from "../lib/src/tuning";

test("sampleTrials draws distinct points of the space, the same ones for the same seed", () => {
  assert.equal(spaceSize(DEFAULT_SEARCH_SPACE), 9 * 27);
  const a = sampleTrials(DEFAULT_SEARCH_SPACE, 40, 1);
  assert.deepEqual(a, sampleTrials(DEFAULT_SEARCH_SPACE, 40, 1));
  assert.notDeepEqual(a, sampleTrials(DEFAULT_SEARCH_SPACE, 40, 2));
  const keys = new Set(a.map((t) => JSON.stringify({ ...t, id: 0 })));
  assert.equal(keys.size, 40);
  for (const t of a) {
    assert.ok(DEFAULT_SEARCH_SPACE.learningRate[t.optimizer].includes(t.learningRate), `${t.optimizer} ${t.learningRate}`);
    assert.ok(DEFAULT_SEARCH_SPACE.filters.includes(t.filters));
    assert.ok(DEFAULT_SEARCH_SPACE.dropout.includes(t.dropout));
    assert.ok(DEFAULT_SEARCH_SPACE.batchSize.includes(t.batchSize));
  }
  assert.deepEqual(new Set(a.map((t) => t.optimizer)), new Set(["adam", "rmsprop", "sgd"]));
  const tiny = { ...DEFAULT_SEARCH_SPACE, optimizer: ["adam" as const], learningRate: { ...DEFAULT_SEARCH_SPACE.learningRate, adam: [1e-3] }, filters: [8], dropout: [0], batchSize: [32, 64] };
  assert.equal(sampleTrials(tiny, 2, 5).length, 2);
  assert.throws(() => sampleTrials(tiny, 3, 5), /n must be from 1 to the space's 2 points/);
  assert.throws(() => sampleTrials({ ...tiny, learningRate: { ...tiny.learningRate, adam: [] } }, 1, 5), /no learning rates for optimizer "adam"/);
});

test("bestTrial prefers validation accuracy, then validation loss", () => {
  const base = { optimizer: "adam" as const, learningRate: 1e-3, filters: 16, dropout: 0, batchSize: 32, trainLoss: 0.1, epochsRun: 2, bestEpoch: 2, trainSec: 1, samplesPerSec: 500 };
  const rs: TrialResult[] = [
    { ...base, id: 1, valAcc: 0.8, valLoss: 0.5 },
    { ...base, id: 2, valAcc: 0.85, valLoss: 0.6 },
    { ...base, id: 3, valAcc: 0.85, valLoss: 0.4 },
  ];
  assert.equal(bestTrial(rs).id, 3);
  assert.throws(() => bestTrial([]), /no results/);
});

// Planning the final training from the results: test/tuning-plan.test.ts.

test("runSearch trains each trial on real images and scores it on validation data", async () => {
  await initBackend("wasm");
  const set = loadFashionMnist("train");
  const all = Array.from({ length: set.count }, (_, i) => i);
  const idx = balancedSubset(set.labels, all, 600, 3);
  const train = toTensors(set, idx.slice(0, 500));
  const val = toTensors(set, idx.slice(500));
  const before = tf.memory().numTensors;
  const trials = sampleTrials({ ...DEFAULT_SEARCH_SPACE, filters: [8], optimizer: ["adam", "sgd"] }, 2, 11);
  const seen: number[] = [];
  const results = await runSearch(trials, { train, val }, { model: "cnn_maxpool", epochs: 2, patience: 1, seed: 1, onTrial: (r) => seen.push(r.id) });
  assert.deepEqual(seen, [1, 2]);
  for (const r of results) {
    assert.ok(r.valAcc > 0.1 && r.valAcc <= 1, `trial ${r.id} val acc ${r.valAcc}`);
    assert.ok(Number.isFinite(r.valLoss) && r.bestEpoch >= 1 && r.bestEpoch <= r.epochsRun);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([train.xs, train.ys, val.xs, val.ys]);
});
