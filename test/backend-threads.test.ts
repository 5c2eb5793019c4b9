// Several wasm threads: the setting is validated, the threaded build really starts the threads,
// computes the same numbers as one thread, bit for bit (the filter gradient is summed in fixed
// chunks of images whichever thread takes them), and lets the process exit by itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { MAX_WASM_THREADS, requestedWasmThreads } from "../lib/src/backend/index";

test("FMNIST_WASM_THREADS: auto is one per core (at most 8); bad values are named with the valid ones", () => {
  assert.equal(requestedWasmThreads({}), Math.min(MAX_WASM_THREADS, os.cpus().length));
  assert.equal(requestedWasmThreads({ FMNIST_WASM_THREADS: "auto" }), Math.min(MAX_WASM_THREADS, os.cpus().length));
  assert.equal(requestedWasmThreads({ FMNIST_WASM_THREADS: " 2 " }), 2);
  for (const bad of ["0", "9", "two", "1.5", ""]) {
    assert.throws(() => requestedWasmThreads({ FMNIST_WASM_THREADS: bad }), /FMNIST_WASM_THREADS = .*auto .* 1 to 8/, bad);
  }
});

const CHILD = `
const tf = require("@tensorflow/tfjs");
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
(async () => {
  const info = await initBackend("wasm");
  // 37 images: chunks of 16, 16 and 5 for the filter gradient.
  const x = tf.randomNormal([37, 12, 12, 16], 0, 1, "float32", 1);
  const w = tf.randomNormal([3, 3, 16, 32], 0, 1, "float32", 2);
  const dy = tf.randomNormal([37, 12, 12, 32], 0, 1, "float32", 3);
  const [gx, gw] = tf.grads((a, b) => tf.conv2d(a, b, 1, "same"))([x, w], dy);
  const y = tf.conv2d(x, w, 1, "same");
  console.log("@@" + JSON.stringify({ threads: info.threads, y: Array.from(y.dataSync()), gx: Array.from(gx.dataSync()), gw: Array.from(gw.dataSync()) }));
})();
`;

/** Runs `script` in a child process with FMNIST_WASM_THREADS = threads and returns what it printed after "@@". */
function runChild<T>(script: string, threads: string, env: NodeJS.ProcessEnv = {}): T {
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    env: { ...process.env, FMNIST_WASM_THREADS: threads, ...env },
    encoding: "utf8",
    timeout: 120_000, // a worker keeping the process alive would hit this
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(r.status, 0, `child with ${threads} thread(s) exited with ${r.status} ${r.signal ?? ""}: ${r.stderr}`);
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@"));
  assert.ok(line, `no result from the child: ${r.stdout}`);
  return JSON.parse(line.slice(2)) as T;
}

type ConvResult = { threads: number; y: number[]; gx: number[]; gw: number[] };

test("two and three wasm threads start, give one thread's results bit for bit and exit on their own", () => {
  const one = runChild<ConvResult>(CHILD, "1");
  assert.equal(one.threads, 1);
  for (const threads of ["2", "3"]) {
    const many = runChild<ConvResult>(CHILD, threads);
    assert.equal(many.threads, Number(threads));
    for (const k of ["y", "gx", "gw"] as const) {
      assert.equal(many[k].length, one[k].length);
      const differing = one[k].filter((v, i) => !Object.is(v, many[k][i])).length;
      assert.equal(differing, 0, `${k} with ${threads} threads: ${differing} of ${one[k].length} values differ from one thread's`);
    }
  }
});

const TRAIN_CHILD = `
const crypto = require("node:crypto");
const tf = require("@tensorflow/tfjs");
const fm = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "index.ts"))});
(async () => {
  const info = await fm.initBackend("wasm");
  const model = fm.buildModel("best", { seed: 3 });
  const xs = tf.randomUniform([80, 28, 28, 1], 0, 1, "float32", 5);
  const ys = tf.tensor1d(Array.from({ length: 80 }, (_, i) => (i * 7) % 10), "float32");
  // 80 images in batches of 32: two full batches and one of 16.
  const h = await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
  const digest = crypto.createHash("sha256");
  for (const w of model.getWeights()) { const d = w.dataSync(); digest.update(Buffer.from(d.buffer, d.byteOffset, d.byteLength)); }
  console.log("@@" + JSON.stringify({ threads: info.threads, loss: h.history.loss, weights: digest.digest("hex") }));
})();
`;

test("training the best model for two epochs gives the same weights bit for bit on one and two threads", () => {
  type TrainResult = { threads: number; loss: number[]; weights: string };
  const one = runChild<TrainResult>(TRAIN_CHILD, "1");
  const two = runChild<TrainResult>(TRAIN_CHILD, "2");
  assert.deepEqual([one.threads, two.threads], [1, 2]);
  assert.ok(one.loss.every(Number.isFinite) && one.loss.length === 2, `losses ${one.loss}`);
  assert.deepEqual(two.loss, one.loss);
  assert.equal(two.weights, one.weights);
});

// The loops shared out since (lib/src/backend/row-loops.ts): batch norm's forward, moments, input
// gradient and its sums (over fixed blocks of rows), and the 2×2 max-pool gradient. Shapes with a
// last block of rows shorter than the rest, and a pool that leaves a row and a column uncovered.
const ROWS_CHILD = `
const tf = require("@tensorflow/tfjs");
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
const { batchNormTraining } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "batchnorm-train.ts"))});
(async () => {
  const info = await initBackend("wasm");
  const x = tf.randomNormal([37, 15, 15, 16], 0.5, 2, "float32", 1);
  const g = tf.randomUniform([16], 0.5, 1.5, "float32", 2);
  const b = tf.randomNormal([16], 0, 1, "float32", 3);
  const dyBn = tf.randomNormal([37, 15, 15, 16], 0, 1, "float32", 4);
  const [gx, gg, gb] = tf.grads((a, s, o) => batchNormTraining(a, s, o, 1e-3))([x, g, b], dyBn);
  const y = batchNormTraining(x, g, b, 1e-3);
  const m = tf.moments(x, [0, 1, 2]);
  const inference = tf.batchNorm(x, m.mean, m.variance, b, g, 1e-3);
  const dyPool = tf.randomNormal([37, 7, 7, 16], 0, 1, "float32", 5);
  const [gp] = tf.grads((a) => tf.maxPool(a, 2, 2, "valid"))([x], dyPool);
  const pool = tf.maxPool(x, 2, 2, "valid");
  const relu = tf.relu(x);
  const [gr] = tf.grads((a) => tf.relu(a))([x], dyBn);
  const out = {};
  for (const [k, t] of Object.entries({ y, gx, gg, gb, inference, gp, pool, relu, gr })) out[k] = Array.from(t.dataSync());
  console.log("@@" + JSON.stringify({ threads: info.threads, ...out }));
})();
`;

test("batch norm, max-pool, ReLU and their gradients' loops give one thread's results bit for bit on two and three threads", () => {
  const keys = ["y", "gx", "gg", "gb", "inference", "gp", "pool", "relu", "gr"] as const;
  type RowsResult = Record<(typeof keys)[number], number[]> & { threads: number };
  const one = runChild<RowsResult>(ROWS_CHILD, "1");
  for (const threads of ["2", "3"]) {
    const many = runChild<RowsResult>(ROWS_CHILD, threads);
    assert.equal(many.threads, Number(threads));
    for (const k of keys) {
      assert.ok(one[k].length > 0, k);
      assert.equal(many[k].length, one[k].length);
      const differing = one[k].filter((v, i) => !Object.is(v, many[k][i])).length;
      assert.equal(differing, 0, `${k} with ${threads} threads: ${differing} of ${one[k].length} values differ from one thread's`);
    }
  }
});

// With our kernels the threads are ours (this one and the helpers) and XNNPACK's own pool stays at
// one thread, whose spinning between small layers took a core from the helper; with the "minimal"
// set XNNPACK runs the layers and gets every thread.
const POOL_CHILD = `
const wasm = require("@tensorflow/tfjs-backend-wasm");
const { initBackend } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "index.ts"))});
const { tileHelperCount } = require(${JSON.stringify(path.join(__dirname, "..", "lib", "src", "backend", "tile-helpers.ts"))});
(async () => {
  const info = await initBackend("wasm");
  console.log("@@" + JSON.stringify({ threads: info.threads, pool: wasm.getThreadsCount(), helpers: tileHelperCount() }));
})();
`;

test("two threads: our helper and a one-thread XNNPACK pool with our kernels, XNNPACK's pool of two without", () => {
  type PoolResult = { threads: number; pool: number; helpers: number };
  assert.deepEqual(runChild<PoolResult>(POOL_CHILD, "2", { FMNIST_WASM_KERNELS: "fast" }), { threads: 2, pool: 1, helpers: 1 });
  assert.deepEqual(runChild<PoolResult>(POOL_CHILD, "2", { FMNIST_WASM_KERNELS: "minimal" }), { threads: 2, pool: 2, helpers: 0 });
  assert.deepEqual(runChild<PoolResult>(POOL_CHILD, "1", { FMNIST_WASM_KERNELS: "fast" }), { threads: 1, pool: 1, helpers: 0 });
});
