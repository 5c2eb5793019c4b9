// Metrics against scikit-learn: fixtures made by scripts/make-sklearn-fixtures.py (sklearn 1.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  accuracy,
  argmaxLabels,
  classificationReport,
  confusionMatrix,
  formatClassificationReport,
  normalizeRows,
  perClassAccuracy,
  topConfusions,
} from "../lib/src/metrics";

interface Fixture {
  name: string;
  numClasses: number;
  classNames: string[] | null;
  yTrue: number[];
  yPred: number[];
  confusionMatrix: number[][];
  precision: number[];
  recall: number[];
  f1: number[];
  support: number[];
  accuracy: number;
  macro: number[];
  weighted: number[];
  report2: string;
  report4: string;
}

const dir = path.join(__dirname, "fixtures", "sklearn");
const fixtures: Fixture[] = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")));

const close = (a: number, b: number, what: string): void => assert.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs sklearn ${b}`);

test("there are fixtures, including never-predicted and absent classes", () => {
  assert.deepEqual(fixtures.map((f) => f.name).sort(), ["absent_class", "fashion_like", "never_predicted", "small_numeric"]);
});

for (const fx of fixtures) {
  test(`${fx.name}: confusion matrix, per-class and averaged scores equal scikit-learn's`, () => {
    assert.deepEqual(confusionMatrix(fx.yTrue, fx.yPred, fx.numClasses), fx.confusionMatrix);
    const r = classificationReport(fx.yTrue, fx.yPred, { numClasses: fx.numClasses, classNames: fx.classNames ?? undefined });
    r.classes.forEach((row, c) => {
      close(row.precision, fx.precision[c], `${fx.name} precision[${c}]`);
      close(row.recall, fx.recall[c], `${fx.name} recall[${c}]`);
      close(row.f1, fx.f1[c], `${fx.name} f1[${c}]`);
      assert.equal(row.support, fx.support[c]);
    });
    close(r.accuracy, fx.accuracy, "accuracy");
    close(accuracy(fx.yTrue, fx.yPred), fx.accuracy, "accuracy()");
    ["precision", "recall", "f1"].forEach((k, i) => {
      close(r.macroAvg[k as "precision"], fx.macro[i], `macro ${k}`);
      close(r.weightedAvg[k as "precision"], fx.weighted[i], `weighted ${k}`);
    });
  });

  test(`${fx.name}: the formatted report is character-for-character scikit-learn's (digits 2 and 4)`, () => {
    const r = classificationReport(fx.yTrue, fx.yPred, { numClasses: fx.numClasses, classNames: fx.classNames ?? undefined });
    assert.equal(formatClassificationReport(r, 2), fx.report2);
    assert.equal(formatClassificationReport(r, 4), fx.report4);
  });
}

test("topConfusions, perClassAccuracy and normalizeRows on a hand-made matrix", () => {
  const cm = [
    [8, 2, 0],
    [1, 5, 4],
    [0, 0, 0],
  ];
  const top = topConfusions(cm, 2, ["a", "b", "c"]);
  assert.deepEqual(top.map((t) => [t.trueName, t.predName, t.count]), [["b", "c", 4], ["a", "b", 2]]);
  assert.equal(top[0].rate, 0.4);
  assert.deepEqual(perClassAccuracy(cm), [0.8, 0.5, 0]);
  assert.deepEqual(normalizeRows(cm)[1], [0.1, 0.5, 0.4]);
});

test("bad input is named", () => {
  assert.throws(() => confusionMatrix([0, 1], [0], 10), /yTrue has 2 labels but yPred has 1/);
  assert.throws(() => confusionMatrix([0, 12], [0, 1], 10), /yTrue\[1\] = 12 is not a class id from 0 to 9/);
  assert.throws(() => accuracy([], []), /undefined/);
});

test("argmaxLabels reads class ids from probabilities without leaking tensors", async () => {
  await tf.setBackend("cpu");
  const probs = tf.tensor2d([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]]);
  const before = tf.memory().numTensors;
  assert.deepEqual([...(await argmaxLabels(probs))], [1, 0]);
  assert.equal(tf.memory().numTensors, before);
  probs.dispose();
});
