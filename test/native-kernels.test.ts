// The native TensorFlow training kernels (lib/src/backend/native-kernels.ts): training-mode batch norm forward and
// backward through TensorFlow's fused ops, and ReLU's gradient mask (Step, alpha 0), each against the same
// computation on tfjs's pure-JS cpu backend. Needs `npm run native`; skipped with the reason where native
// TensorFlow is absent, except under CI=true when CI_EXPECT_BACKENDS names tensorflow (.ci/run installs it).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { batchNormTraining } from "../lib/src/backend/batchnorm-train";
import { BATCH_NORM_TRAIN } from "../lib/src/backend/native-kernels";
import { createRng } from "../lib/src/random";

const expected = new Set((process.env.CI_EXPECT_BACKENDS ?? "").split(/[\s,]+/).filter(Boolean));

/** Starts native TensorFlow, or returns why it cannot (failing instead when CI expects it). */
async function startNative(): Promise<string | undefined> {
  try {
    await initBackend("tensorflow");
    return undefined;
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    if (process.env.CI === "true" && expected.has("tensorflow")) assert.fail(`CI expects the tensorflow backend but it is unavailable: ${why}`);
    return why;
  }
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / Math.max(scale, 1e-30);
}

/** Output, moments and the three gradients of training-mode batch norm on the current backend. */
async function batchNormRun(x: Float32Array, shape: [number, number, number, number], gamma: Float32Array, beta: Float32Array, dy: Float32Array) {
  const xs = tf.tensor4d(x, shape);
  const g = tf.tensor1d(gamma);
  const b = tf.tensor1d(beta);
  const dys = tf.tensor4d(dy, shape);
  let moments: Float32Array[] = [];
  const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor): tf.Tensor =>
    batchNormTraining(xi, gi as tf.Tensor1D, bi as tf.Tensor1D, 1e-3, (m, v) => { moments = [m.dataSync() as Float32Array, v.dataSync() as Float32Array]; });
  const y = f(xs, g, b);
  const grads = tf.grads(f)([xs, g, b], dys);
  const out = { y: await y.data(), mean: moments[0], variance: moments[1], dx: await grads[0].data(), dGamma: await grads[1].data(), dBeta: await grads[2].data() };
  tf.dispose([xs, g, b, dys, y, ...grads]);
  return out;
}

test("tensorflow: training-mode batch norm (forward, moments, gradients) matches the cpu backend", async (t) => {
  const why = await startNative();
  if (why) return t.skip(`native TensorFlow unavailable: ${why} (run npm run native)`);
  assert.ok(tf.getKernel(BATCH_NORM_TRAIN, "tensorflow"), "initBackend registers the native batch-norm kernel");
  const shape: [number, number, number, number] = [6, 5, 7, 8];
  const n = shape.reduce((a, b) => a * b);
  const rng = createRng(5);
  const x = Float32Array.from({ length: n }, (_, i) => (rng.next() - 0.3) * 4 + (i % 8)); // per-channel offsets
  const dy = Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
  const gamma = Float32Array.from({ length: 8 }, () => 0.5 + rng.next());
  const beta = Float32Array.from({ length: 8 }, () => rng.next() - 0.5);
  const native = await batchNormRun(x, shape, gamma, beta, dy);
  await tf.setBackend("cpu");
  const cpu = await batchNormRun(x, shape, gamma, beta, dy).finally(() => tf.setBackend("tensorflow"));
  for (const k of ["y", "mean", "variance", "dx", "dGamma", "dBeta"] as const) {
    const d = maxRelDiff(native[k], cpu[k]);
    assert.ok(d < 1e-5, `${k}: native differs from cpu by ${d.toExponential(2)} relative`);
  }
  // The moments handed to the moving averages are the biased variance, as on every other backend.
  const m = shape[0] * shape[1] * shape[2];
  let mean0 = 0;
  let var0 = 0;
  for (let i = 0; i < m; i++) mean0 += x[i * 8];
  mean0 /= m;
  for (let i = 0; i < m; i++) var0 += (x[i * 8] - mean0) ** 2;
  var0 /= m;
  assert.ok(Math.abs(native.variance[0] - var0) / var0 < 1e-5, `variance ${native.variance[0]} is not the biased ${var0}`);
});

test("tensorflow: Step with alpha 0 (ReLU's gradient mask) keeps tfjs's semantics; other alphas too", async (t) => {
  const why = await startNative();
  if (why) return t.skip(`native TensorFlow unavailable: ${why} (run npm run native)`);
  assert.equal(tf.getBackend(), "tensorflow");
  const values = [-2, -0, 0, 1e-30, 3, Infinity, -Infinity, NaN];
  const x = tf.tensor1d(values);
  assert.deepEqual(Array.from(await tf.step(x).data()), [0, 0, 0, 1, 1, 1, 0, NaN]);
  assert.deepEqual(Array.from(await tf.step(x, 0.25).data()), [0.25, 0.25, 0.25, 1, 1, 1, 0.25, NaN]);
  // ReLU's gradient, which is what training uses it for.
  const g = tf.grad((v: tf.Tensor) => tf.relu(v))(x, tf.onesLike(x));
  assert.deepEqual(Array.from(await g.data()), [0, 0, 0, 1, 1, 1, 0, NaN]);
});

test("tensorflow: the gradient of a 2×2 max pool matches the cpu backend, ties and odd sizes included", async (t) => {
  const why = await startNative();
  if (why) return t.skip(`native TensorFlow unavailable: ${why} (run npm run native)`);
  const rng = createRng(9);
  for (const shape of [[3, 8, 6, 4], [2, 7, 7, 8], [1, 5, 4, 3]] as [number, number, number, number][]) {
    const n = shape.reduce((a, b) => a * b);
    // Values on a coarse grid and a ReLU-like floor at 0, so that many windows hold the maximum twice or more.
    const x = Float32Array.from({ length: n }, () => Math.max(0, Math.round(rng.next() * 6) - 3));
    const dy = Float32Array.from({ length: n / 4 + 64 }, () => rng.next() * 2 - 1);
    const run = async (): Promise<Float32Array> => {
      const xs = tf.tensor4d(x, shape);
      const pooledShape = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2), shape[3]] as [number, number, number, number];
      const dys = tf.tensor4d(dy.subarray(0, pooledShape.reduce((a, b) => a * b)), pooledShape);
      const g = tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"))(xs, dys);
      const out = (await g.data()) as Float32Array;
      tf.dispose([xs, dys, g]);
      return out;
    };
    const native = await run();
    await tf.setBackend("cpu");
    const cpu = await run().finally(() => tf.setBackend("tensorflow"));
    assert.deepEqual(Array.from(native), Array.from(cpu), `shape [${shape}]: gradients differ`);
    assert.ok(cpu.filter((v) => v !== 0).length > 0);
  }
  // A pool the fast path does not cover (3×3 windows, stride 1, same padding) still runs, through tfjs-node's kernel.
  const xs = tf.tensor4d(Float32Array.from({ length: 2 * 5 * 5 * 2 }, () => rng.next()), [2, 5, 5, 2]);
  const g = tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, 3, 1, "same"))(xs);
  assert.equal(Math.round((await tf.sum(g).data())[0]), 2 * 5 * 5 * 2);
  tf.dispose([xs, g]);
});
