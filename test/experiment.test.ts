// The experiment layer (lib/src/experiment.ts): configuration and backend, the study data, training with
// the configuration's settings and the registry recipe, the save block, the results header; re-running a
// training frees what it replaces; interrupted runs are refused; another notebook's results; the tables.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { makeSplit, saveSplit } from "../lib/src/data/split";
import { experiment, fittedResult, trainingRecipe, type Experiment } from "../lib/src/experiment";
import { buildModel } from "../lib/src/models";
import { readModelMeta, saveModel } from "../lib/src/persist";
import { readResults, resultsPath, writeResults, WRITEUP_REPORTED } from "../lib/src/results";
import { showRuns, showWriteupComparison } from "../lib/src/run-views";
import type { StudyData } from "../lib/src/study-data";
import { trainAndEvaluate } from "../lib/src/train-and-evaluate";

const NOTEBOOK = "99-experiment-probe";
const SMALL = { trainSize: 200, valSize: 100, testSize: 100, epochs: 1, backend: "cpu" as const };

/** Metrics without the measured training time (the one figure two identical runs do not share). */
const untimed = (m: Record<string, number> | undefined): Record<string, number> => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !k.endsWith("train_sec")));

let dir: string;
let ex: Experiment;
let data: StudyData;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fmnist-experiment-"));
  ex = await experiment(NOTEBOOK, { env: {}, overrides: { ...SMALL, artifactsDir: dir } });
  saveSplit(makeSplit(ex.cfg), ex.cfg);
  data = ex.data();
});

after(() => {
  data?.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("experiment: configuration from the given environment, the backend, and the notebook's parts", async () => {
  assert.equal(ex.cfg.profile, "quick");
  assert.equal(ex.cfg.trainSize, 200);
  assert.equal(ex.cfg.artifactsDir, dir);
  assert.equal(ex.backend.name, "cpu");
  assert.equal(ex.parts, undefined);
  assert.equal(ex.includes("anything"), true, "a notebook without parts does every part");
  assert.deepEqual(data.rows, { "rows.train": 200, "rows.val": 100, "rows.test": 100 });

  // The part parameter is taken out of the environment and validated against the parts.
  const parts = { parameter: "FMNIST_MODELS", values: ["cnn32", "cnn64"] };
  const one = await experiment(NOTEBOOK, { env: { FMNIST_MODELS: "cnn64" }, overrides: { ...SMALL, artifactsDir: dir }, parts });
  assert.deepEqual(one.parts?.selected, ["cnn64"]);
  assert.equal(one.includes("cnn32"), false);
  assert.equal(one.includes("cnn64"), true);
  const all = await experiment(NOTEBOOK, { env: {}, overrides: { ...SMALL, artifactsDir: dir }, parts });
  assert.deepEqual(all.parts?.selected, ["cnn32", "cnn64"]);
  await assert.rejects(experiment(NOTEBOOK, { env: { FMNIST_MODELS: "cnn128" }, overrides: SMALL, parts }), /FMNIST_MODELS = "cnn128": choose cnn32, cnn64/);
  // Without parts, another notebook's parameter is ignored (a runner's --set reaches every notebook); a typo is not.
  assert.deepEqual((await experiment(NOTEBOOK, { env: { FMNIST_MODELS: "cnn32" }, overrides: SMALL })).cfg, (await experiment(NOTEBOOK, { env: {}, overrides: SMALL })).cfg);
  await assert.rejects(experiment(NOTEBOOK, { env: { FMNIST_MODEL: "cnn32" }, overrides: SMALL }), /unknown environment variable FMNIST_MODEL;/);
  await assert.rejects(experiment("04 cnn", { env: {}, overrides: SMALL }), /Invalid notebook name "04 cnn"/);
});

test("trainingRecipe: the profile's epochs (the registry's under full), early stopping, augmentation and schedule as the registry says", () => {
  const quick = ex.cfg;
  const full = { ...quick, profile: "full" as const, epochs: 10 };
  assert.deepEqual(trainingRecipe("cnn32", quick), { epochs: 1 });
  assert.deepEqual(trainingRecipe("cnn32", full), { epochs: 10 });
  assert.deepEqual(trainingRecipe("dense_regularized", quick), { epochs: 1, earlyStopping: { patience: 5, monitor: "val_loss", restoreBest: true } });
  assert.equal(trainingRecipe("dense_regularized", full).epochs, 50);
  assert.deepEqual(trainingRecipe("cnn_augmented", full), { epochs: 10, augment: { shift: 2, flip: true, rotate: 0 } });
  const best = trainingRecipe("best", full);
  assert.equal(best.epochs, 30);
  assert.deepEqual(best.learningRateSchedule, { kind: "cosine", minFactor: 0.01 });
});

test("train = trainAndEvaluate with the options the notebooks wrote by hand: same metrics bit for bit, same saved provenance", async () => {
  const cfg = ex.cfg;
  const run = await ex.train("dense_shallow", data);
  const handDir = path.join(dir, "by-hand");
  const byHand = await trainAndEvaluate("dense_shallow", { train: data.train, val: data.val, test: data.test }, {
    epochs: cfg.epochs, batchSize: cfg.batchSize, seed: cfg.seed,
    modelOptions: { seed: cfg.seed, learningRate: cfg.learningRate },
    save: { artifactsDir: handDir, config: cfg, splitId: data.split.id, backend: ex.backend },
  });
  assert.deepEqual(untimed(run.metrics), untimed(byHand.metrics));
  assert.deepEqual(Object.keys(run.metrics), Object.keys(byHand.metrics));
  assert.deepEqual({ ...run.entry, trainSec: 0, metrics: untimed(run.entry.metrics) }, { ...byHand.entry, trainSec: 0, metrics: untimed(byHand.entry.metrics) });
  assert.equal(run.savedTo, path.join(dir, "models", "dense_shallow"));
  const meta = readModelMeta("dense_shallow", dir);
  const handMeta = readModelMeta("dense_shallow", handDir);
  assert.deepEqual(Object.keys(meta.training ?? {}), ["epochs", "batchSize", "seed"], "meta.json records the training options in the notebooks' order, nothing more");
  for (const key of ["training", "modelOptions", "config", "splitId", "backend"] as const) assert.deepEqual(meta[key], handMeta[key], key);
  assert.deepEqual(untimed(meta.metrics), untimed(handMeta.metrics));
  assert.equal(meta.splitId, data.split.id);
});

test("train: the registry recipe applies, given options win, save: false saves nothing", async () => {
  const run = await ex.train("dense_regularized", data, { name: "regularized_probe", epochs: 2, save: false, progress: "none" });
  assert.equal(run.savedTo, undefined);
  assert.equal(fs.existsSync(path.join(dir, "models", "regularized_probe")), false);
  assert.equal(run.metrics["regularized_probe.epochs"], run.history.epochsRun);
  assert.ok(run.history.epochsRun >= 1 && run.history.epochsRun <= 2);

  const saved = await ex.train("dense_regularized", data, { name: "regularized_saved", modelOptions: { dropout: 0.1 }, progress: "none" });
  const meta = readModelMeta("regularized_saved", dir);
  assert.deepEqual(meta.training?.earlyStopping, { patience: 5, monitor: "val_loss", restoreBest: true }, "the registry's early stopping");
  assert.deepEqual(Object.keys(meta.training ?? {}), ["epochs", "batchSize", "seed", "earlyStopping", "name", "progress"]);
  assert.equal(meta.modelOptions?.dropout, 0.1);
  assert.equal(meta.modelOptions?.seed, ex.cfg.seed);
  assert.equal(meta.modelOptions?.learningRate, ex.cfg.learningRate);
  assert.equal(saved.params, meta.params);
});

test("re-running a training frees the model it replaces (no tensors pile up)", async () => {
  const opts = { name: "rerun_probe", save: false, progress: "none" as const };
  const first = await ex.train("dense_shallow", data, opts);
  const settled = tf.memory().numTensors;
  const second = await ex.train("dense_shallow", data, opts);
  assert.equal(tf.memory().numTensors, settled, "the second run kept the first one's model");
  assert.throws(() => first.model.predict(data.test.xs), /disposed/i, "the replaced model is freed");
  assert.deepEqual(untimed(second.metrics), untimed(first.metrics), "same seed, same run");
  await ex.train("dense_shallow", data, opts);
  assert.equal(tf.memory().numTensors, settled);
});

test("writeResults fills the header; metrics are the given ones, then each run's; absent runs are skipped", async () => {
  const run = await ex.train("dense_shallow", data, { save: false, progress: "none" });
  const forest = fittedResult("random_forest", { params: 0, trainSec: 1.5, metrics: { val_acc: 0.8, test_acc: 0.75 } });
  const before = Date.now();
  const file = ex.writeResults({ metrics: data.rows, runs: [run, undefined, forest] });
  assert.equal(file, resultsPath(NOTEBOOK, dir));
  const text = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  assert.deepEqual(Object.keys(text), ["schema", "notebook", "profile", "createdAt", "durationSec", "backend", "config", "metrics", "models"]);
  const r = readResults(NOTEBOOK, dir);
  assert.equal(r.schema, 1);
  assert.equal(r.notebook, NOTEBOOK);
  assert.equal(r.profile, "quick");
  assert.ok(Date.parse(r.createdAt) >= before - 1000);
  assert.ok(r.durationSec !== undefined && r.durationSec >= (before - ex.startedAt) / 1000, `durationSec ${r.durationSec} counts from the experiment's start`);
  assert.deepEqual(r.backend, ex.backend);
  assert.deepEqual(r.config, ex.cfg);
  assert.deepEqual(Object.keys(r.metrics), [...Object.keys(data.rows), ...Object.keys(run.metrics), "random_forest.val_acc", "random_forest.test_acc", "random_forest.train_sec"]);
  assert.equal(r.metrics["dense_shallow.test_acc"], run.test?.acc);
  assert.equal(r.metrics["random_forest.train_sec"], 1.5);
  assert.deepEqual(r.models, [run.entry, { name: "random_forest", params: 0, trainSec: 1.5, metrics: { val_acc: 0.8, test_acc: 0.75 } }]);

  ex.writeResults({ metrics: { "rows.test": 100 } });
  const plain = readResults(NOTEBOOK, dir);
  assert.equal("models" in plain, false, "no runs given, no models field");
  assert.deepEqual(plain.metrics, { "rows.test": 100 });
});

test("an interrupted run: trainEach stops there, and writeResults refuses it and writes nothing", async () => {
  ex.writeResults({ metrics: { "rows.test": 100 } });
  const file = resultsPath(NOTEBOOK, dir);
  const written = fs.readFileSync(file, "utf8");
  const stop = new AbortController();
  stop.abort();
  const runs = await ex.trainEach(["dense_shallow", "cnn32"], data, { name: "interrupted_probe", signal: stop.signal, progress: "none" });
  assert.equal(runs.length, 1, "the second model was not trained after the first was interrupted");
  assert.equal(runs[0].interrupted, true);
  assert.equal(fs.existsSync(path.join(dir, "models", "interrupted_probe")), false, "an interrupted run is not saved");
  assert.throws(() => ex.writeResults({ metrics: data.rows, runs }), /Results not written: the training of interrupted_probe was interrupted/);
  assert.equal(fs.readFileSync(file, "utf8"), written, "the results file is untouched");

  const done = await ex.trainEach(["dense_shallow"], data, { name: "each_probe", save: false, progress: "none" });
  assert.equal(done.length, 1);
  assert.equal(done[0].interrupted, false);
});

test("resultOf: a model's metrics from another notebook's results for this profile, {} otherwise", () => {
  const log = console.log;
  const lines: string[] = [];
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  try {
    assert.deepEqual(ex.resultOf("98-not-run", "cnn32"), {});
    const header = { schema: 1 as const, createdAt: "", backend: ex.backend, config: ex.cfg, metrics: {} };
    writeResults({ ...header, notebook: "98-quick", profile: "quick", models: [{ name: "cnn32", params: 3, trainSec: 4, metrics: { test_acc: 0.5 } }] }, dir);
    writeResults({ ...header, notebook: "98-full", profile: "full", models: [{ name: "cnn32", params: 3, trainSec: 4, metrics: { test_acc: 0.6 } }] }, dir);
    assert.deepEqual(ex.resultOf("98-quick", "cnn32"), { test_acc: 0.5 });
    assert.deepEqual(ex.resultOf("98-quick", "cnn64"), {});
    assert.deepEqual(ex.resultOf("98-full", "cnn32"), {});
  } finally {
    console.log = log;
  }
  assert.ok(lines.some((l) => l.includes("98-not-run has not run yet")), lines.join("\n"));
  assert.ok(lines.some((l) => l.includes("98-full last ran with the full profile")), lines.join("\n"));
});

test("loadModel loads a saved model of this split and refuses one trained on another", async () => {
  const run = await ex.train("dense_shallow", data, { name: "load_probe", progress: "none" });
  const { model, meta } = await ex.loadModel("load_probe");
  assert.equal(meta.splitId, data.split.id);
  assert.equal(model.countParams(), run.params);
  model.dispose();
  const other = buildModel("dense_shallow", { seed: 1 });
  await saveModel(other, "elsewhere_probe", dir, { splitId: "another-split" });
  other.dispose();
  await assert.rejects(ex.loadModel("elsewhere_probe"), /"elsewhere_probe" was trained on split another-split, but this profile's split is /);
});

test("loadModel on a missing model: one line (no stack) naming the notebook to run first", async () => {
  const err = await ex.loadModel("never_saved", { trainedBy: "10-tuning" }).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(err, "loading a model that was never saved must fail");
  assert.match(err.message, /No saved model "never_saved" for the quick profile in .*models: run notebook 10-tuning first \(it trains and saves "never_saved"\), then re-run this cell\./);
  assert.equal(err.stack, `Error: ${err.message}`, "printed without stack frames");
  const plain = await ex.loadModel("never_saved").then(() => undefined, (e: unknown) => e as Error);
  assert.match(plain?.message ?? "", /run the notebook that trains "never_saved" first/);
});

test("train refuses to save a model whose split it cannot tell", async () => {
  const fresh = await experiment(NOTEBOOK, { env: {}, overrides: { ...SMALL, artifactsDir: dir } });
  const bare = { train: data.train, val: data.val };
  await assert.rejects(fresh.train("dense_shallow", bare, { progress: "none" }), /load the data with ex\.data\(\) before training a model to save/);
  const run = await fresh.train("dense_shallow", bare, { progress: "none", save: false });
  assert.equal(run.savedTo, undefined);
});

test("tables: write-up figures beside ours for the runs the write-ups report; runs side by side", () => {
  const entry = (name: string, metrics: Record<string, number>) => ({ entry: { name, params: 10, trainSec: 12.4, metrics } });
  const reported = WRITEUP_REPORTED.cnn_simple.metrics;
  const [metric, value] = Object.entries(reported)[0];
  const ours = value - 0.01;
  const rows = showWriteupComparison([entry("cnn_simple", { [metric]: ours }), entry("cnn_deeper", { test_acc: 0.9 }), undefined]);
  assert.equal(rows.length, Object.keys(reported).length, "only cnn_simple has write-up figures");
  assert.deepEqual(rows[0], { model: "cnn_simple", source: WRITEUP_REPORTED.cnn_simple.source, metric, reported: Number.isInteger(value) ? String(value) : value.toFixed(4), ours: ours.toFixed(4), diff: (ours - value).toFixed(4) });
  const side = showRuns([entry("a", { val_acc: 0.5, test_acc: 0.25, epochs: 3 }), undefined, entry("b", {})]);
  assert.deepEqual(side, [
    { model: "a", params: 10, val_acc: "0.5000", test_acc: "0.2500", test_loss: "—", epochs: 3, train_sec: "12" },
    { model: "b", params: 10, val_acc: "—", test_acc: "—", test_loss: "—", epochs: "—", train_sec: "12" },
  ]);
});

test("data.trainAndVal: the split's training then validation images, built once and freed with the data", async () => {
  const before = tf.memory().numTensors;
  const both = data.trainAndVal();
  assert.equal(tf.memory().numTensors, before + 2, "images and labels");
  assert.deepEqual(both.xs.shape, [300, 28, 28, 1]);
  const read = async (t: tf.Tensor): Promise<number[]> => { const v = Array.from(await t.data()); t.dispose(); return v; };
  assert.deepEqual(await read(both.xs.slice(200, 1)), await read(data.val.xs.slice(0, 1)), "validation images follow the training images");
  assert.deepEqual(await read(both.ys.slice(0, 200)), Array.from(await data.train.ys.data()));
  assert.equal(data.trainAndVal(), both, "a re-run cell gets the same tensors");
  assert.equal(tf.memory().numTensors, before + 2, "and no copy");
  both.xs.dispose();
  both.ys.dispose();
  const again = data.trainAndVal();
  assert.notEqual(again, both, "rebuilt after being disposed");
  assert.equal(again.xs.isDisposed, false);
});
