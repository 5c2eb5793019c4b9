// Configuration: profiles, environment overrides, and rejection of bad input with helpful messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeConfig, notebookParts, resolveConfig } from "../lib/src/config";

test("profiles: quick is the default, full is the write-ups' settings", () => {
  const quick = resolveConfig({});
  assert.equal(quick.profile, "quick");
  assert.ok(quick.trainSize <= 5000 && quick.epochs <= 2);
  const full = resolveConfig({ FMNIST_PROFILE: "full" });
  assert.deepEqual(
    [full.trainSize + full.valSize, full.testSize, full.epochs, full.batchSize, full.learningRate],
    [60000, 10000, 10, 32, 0.001],
  );
  assert.equal(full.backend, "auto");
});

test("single values are overridden by FMNIST_* variables and by explicit overrides", () => {
  const cfg = resolveConfig({ FMNIST_PROFILE: "full", FMNIST_EPOCHS: "3", FMNIST_LEARNING_RATE: "1e-4", FMNIST_BACKEND: "wasm", FMNIST_DATA_DIR: "/tmp/d" });
  assert.equal(cfg.epochs, 3);
  assert.equal(cfg.learningRate, 1e-4);
  assert.equal(cfg.backend, "wasm");
  assert.equal(cfg.dataDir, "/tmp/d");
  assert.equal(cfg.batchSize, 32);
  assert.equal(resolveConfig({ FMNIST_EPOCHS: "3" }, { epochs: 5 }).epochs, 5);
  assert.match(describeConfig(cfg), /profile=full seed=42 train\/val\/test=50000\/10000\/10000 epochs=3 batch=32 lr=0\.0001 backend=wasm/);
});

test("invalid input is rejected with the valid choices or range", () => {
  const cases: Array<[NodeJS.ProcessEnv, RegExp]> = [
    [{ FMNIST_PROFILE: "fast" }, /FMNIST_PROFILE = "fast": unknown profile; choose one of quick, full/],
    [{ FMNIST_EPOCHS: "-1" }, /FMNIST_EPOCHS = "-1": epochs must be a whole number from 1 to 1000/],
    [{ FMNIST_BATCH_SIZE: "0" }, /FMNIST_BATCH_SIZE = "0": batchSize must be a whole number from 1/],
    [{ FMNIST_EPOCHS: "ten" }, /FMNIST_EPOCHS = "ten"/],
    [{ FMNIST_EPOCHS: "2.5" }, /whole number/],
    [{ FMNIST_LEARNING_RATE: "0" }, /learningRate must be a number greater than 0/],
    [{ FMNIST_LEARNING_RATE: "abc" }, /FMNIST_LEARNING_RATE = "abc"/],
    [{ FMNIST_BACKEND: "gpu" }, /unknown backend; choose one of auto, tensorflow-gpu, tensorflow, webgpu, wasm, cpu/],
    [{ FMNIST_EPOCS: "3" }, /unknown environment variable FMNIST_EPOCS; valid ones are FMNIST_PROFILE, .*FMNIST_EPOCHS/],
    [{ FMNIST_TEST_SIZE: "20000" }, /testSize must be a whole number from 10 to 10000/],
    [{ FMNIST_TRAIN_SIZE: "55000", FMNIST_VAL_SIZE: "10000" }, /exceeds the 60000 training images/],
  ];
  for (const [env, re] of cases) assert.throws(() => resolveConfig(env), re, JSON.stringify(env));
  assert.throws(() => resolveConfig({}, { epochz: 3 } as never), /unknown key "epochz"; valid keys are profile, seed/);
  assert.throws(() => resolveConfig({}, { epochs: -2 }), /epochs = -2/);
});

test("unrelated environment variables are ignored", () => {
  assert.equal(resolveConfig({ PATH: "/bin", FMNIST_UNDER_TEST: "1" }).profile, "quick");
});

test("notebookParts: a notebook's own part parameter selects parts, is validated, and never reaches the shared config", () => {
  const env = { FMNIST_PROFILE: "quick", FMNIST_MODELS: "cnn64" };
  const p = notebookParts("FMNIST_MODELS", ["cnn32", "cnn64"], env);
  assert.deepEqual(p.selected, ["cnn64"]);
  assert.equal(p.includes("cnn32"), false);
  assert.equal(p.env.FMNIST_MODELS, undefined);
  assert.equal(resolveConfig(p.env).profile, "quick");
  // Other notebooks of the same run ignore it (a runner's --set MODELS=… reaches every notebook): same config.
  assert.deepEqual(resolveConfig(env), resolveConfig(p.env));
  assert.deepEqual(notebookParts("FMNIST_MODELS", ["cnn32", "cnn64"], {}).selected, ["cnn32", "cnn64"]);
  assert.deepEqual(notebookParts("FMNIST_MODELS", ["cnn32", "cnn64"], { FMNIST_MODELS: "cnn64, cnn32" }).selected, ["cnn32", "cnn64"]);
  assert.throws(() => notebookParts("FMNIST_MODELS", ["cnn32", "cnn64"], { FMNIST_MODELS: "cnn128" }), /FMNIST_MODELS = "cnn128": choose cnn32, cnn64/);
  assert.throws(() => notebookParts("FMNIST_MODELS", ["cnn32", "cnn64"], { FMNIST_MODELS: " , " }), /choose/);
});

test("the project's own FMNIST_* variables (notebook parameters, tools) are accepted and ignored; near misses are still typos", () => {
  const base = resolveConfig({ FMNIST_PROFILE: "full" });
  for (const name of ["FMNIST_TRIALS", "FMNIST_MODELS", "FMNIST_SHARD", "FMNIST_SHARD_COUNT", "FMNIST_COMMIT", "FMNIST_CACHE_DIR", "FMNIST_JUPYTER_VENV", "FMNIST_KERAS_VENV", "FMNIST_KERAS_PYTHON", "FMNIST_PEERS_PYTHON"]) {
    assert.deepEqual(resolveConfig({ FMNIST_PROFILE: "full", [name]: "x" }), base, name);
  }
  assert.throws(() => resolveConfig({ FMNIST_TRIAL: "32" }), /unknown environment variable FMNIST_TRIAL;/);
  assert.throws(() => resolveConfig({ FMNIST_SHARDS: "2/4" }), /unknown environment variable FMNIST_SHARDS;/);
});
