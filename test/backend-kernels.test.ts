// The wasm training kernels equal the cpu backend's results (relative error ≤ 1e-4) across
// shapes, strides, paddings and batch sizes, and a warm training step leaks no tensors.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, simdKernelsFailure } from "../lib/src/backend/index";
import { randomTensor } from "./helpers/tensors";
import { simdKernels } from "../lib/src/backend/simd-kernels";
import { setTiledConvThreads, tiledConvCalls } from "../lib/src/backend/tiled-conv";
import { tileHelperCount } from "../lib/src/backend/tile-helpers";

before(async () => {
  await initBackend("wasm");
});


function relErr(a: Float32Array | number[], b: Float32Array | number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-12);
}

/** Runs `f` on cpu and on wasm with the same inputs and returns both results as arrays. */
async function onBoth(f: () => tf.Tensor[]): Promise<[Float32Array[], Float32Array[]]> {
  await tf.setBackend("cpu");
  const cpu = f().map((t) => t.dataSync() as Float32Array);
  await initBackend("wasm");
  await tf.setBackend("wasm");
  const wasm = f().map((t) => t.dataSync() as Float32Array);
  return [cpu, wasm];
}

/** Compiles `model` (Adam, 3 classes), takes 21 steps on `xs`: no tensor count change after the first, and the loss falls. */
async function assertWarmStepsLeakNothing(model: tf.Sequential, xs: tf.Tensor): Promise<void> {
  model.compile({ optimizer: tf.train.adam(0.01), loss: "sparseCategoricalCrossentropy" });
  const ys = tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], "float32");
  const first = (await model.trainOnBatch(xs, ys)) as number;
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 20; i++) last = (await model.trainOnBatch(xs, ys)) as number;
  assert.equal(tf.memory().numTensors, before);
  assert.ok(last < first, `loss ${first} → ${last}`);
  model.dispose();
}

test("Conv2DBackpropFilter on wasm matches cpu (shapes, strides, paddings, odd batches)", async () => {
  const cases = [
    { n: 1, h: 5, w: 5, c: 1, f: 2, k: 3, s: 1, pad: "valid" },
    { n: 3, h: 28, w: 28, c: 1, f: 32, k: 3, s: 1, pad: "valid" },
    { n: 7, h: 13, w: 11, c: 3, f: 5, k: 3, s: 2, pad: "same" },
    { n: 2, h: 14, w: 14, c: 32, f: 64, k: 3, s: 1, pad: "same" },
    { n: 4, h: 9, w: 9, c: 2, f: 3, k: 5, s: 2, pad: "valid" },
    { n: 5, h: 8, w: 10, c: 4, f: 6, k: 1, s: 1, pad: "same" },
    // one input channel (the im2col route): zero padding at every border, an even kernel's uneven padding
    { n: 3, h: 28, w: 28, c: 1, f: 32, k: 3, s: 1, pad: "same" },
    { n: 2, h: 7, w: 9, c: 1, f: 5, k: 4, s: 1, pad: "same" },
    { n: 5, h: 11, w: 6, c: 1, f: 7, k: 5, s: 1, pad: "same" },
    { n: 1, h: 6, w: 5, c: 1, f: 3, k: 2, s: 1, pad: "valid" },
    { n: 2, h: 7, w: 9, c: 3, f: 5, k: 4, s: 1, pad: "same" },
    // enough images that the product is split into batches of 5 (28×28 maps), with a shorter last one
    { n: 9, h: 28, w: 28, c: 3, f: 4, k: 3, s: 1, pad: "same" },
  ] as const;
  let seed = 1;
  for (const cs of cases) {
    const x = randomTensor([cs.n, cs.h, cs.w, cs.c], seed++);
    const filter = randomTensor([cs.k, cs.k, cs.c, cs.f], seed++);
    const outShape = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, cs.s, cs.pad).shape;
    const dy = randomTensor(outShape, seed++);
    const [cpu, wasm] = await onBoth(() =>
      tf.tidy(() => {
        const grads = tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, cs.s, cs.pad))([x, filter], dy);
        return grads;
      }),
    );
    assert.ok(relErr(wasm[1], cpu[1]) <= 1e-4, `filter gradient ${JSON.stringify(cs)}: ${relErr(wasm[1], cpu[1])}`);
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-4, `input gradient ${JSON.stringify(cs)}: ${relErr(wasm[0], cpu[0])}`);
    // Temporaries and heap views are all released: the backend holds exactly one more buffer (the result).
    const backend = tf.engine().backend;
    const held = backend.numDataIds();
    const grad = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: cs.s, pad: cs.pad, filterShape: [cs.k, cs.k, cs.c, cs.f], dataFormat: "NHWC" }) as tf.Tensor;
    assert.equal(backend.numDataIds(), held + 1, `buffers held after ${JSON.stringify(cs)}`);
    grad.dispose();
  }
});

/** Lets the tiles take every convolution they cover during test `t` (with a thread pool, XNNPACK takes them instead). */
async function tilesOn(t: { after(fn: () => void): void }): Promise<void> {
  const threads = (await initBackend("wasm")).threads;
  setTiledConvThreads(1);
  t.after(() => setTiledConvThreads(threads));
}

test("stride-1 convolutions on the SIMD tiles (forward, bias + relu, input and filter gradients) match cpu and release their temporaries", async (t) => {
  type Pad = "valid" | "same" | [[number, number], [number, number], [number, number], [number, number]];
  const cases: Array<{ n: number; h: number; w: number; c: number; f: number; k: number; pad: Pad }> = [
    { n: 1, h: 5, w: 5, c: 1, f: 8, k: 3, pad: "valid" }, // a 3-wide row: only a partial tile
    { n: 3, h: 28, w: 28, c: 1, f: 32, k: 3, pad: "same" }, // the input layer
    { n: 2, h: 14, w: 14, c: 32, f: 64, k: 3, pad: "same" },
    { n: 5, h: 7, w: 9, c: 8, f: 16, k: 3, pad: "valid" }, // rows of 7: a full and a 3-wide tile
    { n: 3, h: 6, w: 6, c: 16, f: 8, k: 5, pad: "same" },
    { n: 2, h: 9, w: 10, c: 3, f: 8, k: 2, pad: "same" }, // even kernel: uneven padding
    { n: 4, h: 5, w: 13, c: 8, f: 24, k: 1, pad: "valid" }, // 1×1, rows of 13
    { n: 1, h: 6, w: 1, c: 8, f: 8, k: 1, pad: "valid" }, // one column
    { n: 2, h: 8, w: 7, c: 8, f: 8, k: 3, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] }, // explicit padding
    { n: 35, h: 6, w: 5, c: 8, f: 16, k: 3, pad: "same" }, // filter gradient in chunks of 16, 16 and 3 images
  ];
  let seed = 500;
  await tilesOn(t);
  for (const cs of cases) {
    const label = JSON.stringify(cs);
    const x = randomTensor([cs.n, cs.h, cs.w, cs.c], seed++);
    const filter = randomTensor([cs.k, cs.k, cs.c, cs.f], seed++);
    const bias = randomTensor([cs.f], seed++);
    const conv = (xx: tf.Tensor, ff: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, cs.pad);
    const dy = randomTensor(conv(x, filter).shape, seed++);
    const before = { ...tiledConvCalls };
    const [cpu, wasm] = await onBoth(() =>
      tf.tidy(() => [
        conv(x, filter),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias, activation: "relu", strides: 1, pad: cs.pad }),
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias, strides: 1, pad: cs.pad }),
        ...tf.grads(conv)([x, filter], dy),
      ]),
    );
    ["conv2d", "conv2d + bias + relu", "conv2d + bias", "input gradient", "filter gradient"].forEach((what, i) => {
      assert.ok(relErr(wasm[i], cpu[i]) <= 1e-4, `${what} ${label}: ${relErr(wasm[i], cpu[i])}`);
    });
    // The tiles ran: four forward convolutions (tf.grads runs conv2d again), the filter gradient, and the input gradient when the tiles divide C.
    assert.equal(tiledConvCalls.forward - before.forward, 4, `forward tiles ${label}`);
    assert.equal(tiledConvCalls.filterGradient - before.filterGradient, 1, `filter-gradient tiles ${label}`);
    assert.equal(tiledConvCalls.inputGradient - before.inputGradient, cs.c % 8 === 0 ? 1 : 0, `input-gradient tiles ${label}`);
    // Padded copies and the turned filter are released: each kernel leaves exactly its result.
    const backend = tf.engine().backend;
    for (const run of [
      () => tf.engine().runKernel("Conv2D", { x, filter }, { strides: 1, pad: cs.pad, dataFormat: "NHWC", dilations: 1 }),
      () => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { strides: 1, pad: cs.pad, filterShape: [cs.k, cs.k, cs.c, cs.f], dataFormat: "NHWC" }),
      () => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter }, { strides: 1, pad: cs.pad, inputShape: x.shape, dataFormat: "NHWC" }),
    ]) {
      const held = backend.numDataIds();
      const out = run() as tf.Tensor;
      assert.equal(backend.numDataIds(), held + 1, `buffers held after a kernel on ${label}`);
      out.dispose();
    }
  }
});

test("with the backend's thread pool, helper threads take shares of the images and the results still match cpu", async (t) => {
  const { threads } = await initBackend("wasm");
  if (threads < 2) {
    t.skip("the wasm backend runs on one thread here (FMNIST_WASM_THREADS=1 or one core)");
    return;
  }
  assert.equal(tileHelperCount(), threads - 1, "one helper per extra thread");
  let seed = 900;
  // Odd image counts: unequal shares; one image: no helper; 37: filter-gradient chunks of 16, 16 and 5.
  for (const n of [1, 3, 8, 37]) {
    const x = randomTensor([n, 12, 11, 16], seed++);
    const filter = randomTensor([3, 3, 16, 24], seed++);
    const bias = randomTensor([24], seed++);
    const dy = randomTensor([n, 12, 11, 24], seed++);
    const before = { ...tiledConvCalls };
    const [cpu, wasm] = await onBoth(() =>
      tf.tidy(() => [
        tf.fused.conv2d({ x: x as tf.Tensor4D, filter: filter as tf.Tensor4D, bias, activation: "relu", strides: 1, pad: "same" }),
        ...tf.grads((xx: tf.Tensor, ff: tf.Tensor) => tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, "same"))([x, filter], dy),
      ]),
    );
    ["forward", "input gradient", "filter gradient"].forEach((what, i) => {
      assert.ok(relErr(wasm[i], cpu[i]) <= 1e-4, `${what}, ${n} image(s): ${relErr(wasm[i], cpu[i])}`);
    });
    assert.ok(tiledConvCalls.forward > before.forward && tiledConvCalls.filterGradient > before.filterGradient && tiledConvCalls.inputGradient > before.inputGradient, `tiles ran for ${n} image(s)`);
  }
});

test("convolutions the tiles do not cover (strides, dilations, filter counts not a multiple of 8) keep matching cpu", async (t) => {
  await tilesOn(t);
  const cases = [
    { n: 2, h: 9, w: 9, c: 8, f: 8, k: 3, s: 2, d: 1 },
    { n: 2, h: 11, w: 10, c: 8, f: 16, k: 3, s: 1, d: 2 },
    { n: 3, h: 8, w: 8, c: 4, f: 10, k: 3, s: 1, d: 1 },
  ];
  let seed = 700;
  for (const cs of cases) {
    const x = randomTensor([cs.n, cs.h, cs.w, cs.c], seed++);
    const filter = randomTensor([cs.k, cs.k, cs.c, cs.f], seed++);
    const before = tiledConvCalls.forward;
    const [cpu, wasm] = await onBoth(() => [tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, cs.s, "same", "NHWC", cs.d)]);
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-4, `${JSON.stringify(cs)}: ${relErr(wasm[0], cpu[0])}`);
    assert.equal(tiledConvCalls.forward, before, `${JSON.stringify(cs)} went to the original kernel`);
  }
});

test("Identity on wasm shares its input's buffer: same values, no new buffer, either side can be disposed first", async () => {
  await initBackend("wasm");
  await tf.setBackend("wasm");
  const backend = tf.engine().backend;
  const baseline = backend.numDataIds();
  for (const disposeInputFirst of [true, false]) {
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const y = tf.engine().runKernel("Identity", { x }) as tf.Tensor;
    assert.equal(backend.numDataIds(), baseline + 1, "no second buffer");
    assert.deepEqual(y.shape, [2, 3]);
    const [first, second] = disposeInputFirst ? [x, y] : [y, x];
    first.dispose();
    assert.deepEqual(Array.from(second.dataSync()), [1, 2, 3, 4, 5, 6], "the other tensor keeps its values");
    second.dispose();
    assert.equal(backend.numDataIds(), baseline, "the buffer is freed with the last tensor");
  }
  const s = tf.tensor1d(["a", "b"], "string");
  assert.deepEqual(await (tf.engine().runKernel("Identity", { x: s }) as tf.Tensor).data(), ["a", "b"]);
});

test("BatchMatMul with transposed operands on wasm matches cpu", async () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [
    [[1, 7, 5], [1, 7, 3], true, false],
    [[1, 5, 7], [1, 3, 7], false, true],
    [[2, 7, 5], [2, 3, 7], true, true],
    [[1, 32, 5408], [1, 32, 128], true, false],
    [[1, 32, 10], [1, 128, 10], false, true],
  ];
  let seed = 100;
  for (const [sa, sb, ta, tb] of shapes) {
    const a = randomTensor(sa, seed++);
    const b = randomTensor(sb, seed++);
    const [cpu, wasm] = await onBoth(() => [tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb)]);
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-4, `${sa} × ${sb} (${ta}, ${tb}): ${relErr(wasm[0], cpu[0])}`);
  }
});

test("MaxPoolGrad on wasm matches cpu, ties included (first maximum in row-major order gets the gradient)", async () => {
  assert.equal(simdKernelsFailure(), undefined, "the WebAssembly SIMD loops are loaded, so the cases with 4k channels exercise them");
  assert.ok(simdKernels(tf.engine().findBackend("wasm")), "bound to the wasm backend's memory");
  assert.equal(simdKernels({}), undefined, "never handed to another backend instance (another memory)");
  const cases: Array<{ shape: number[]; k: number; s: number; pad: "valid" | "same"; ties?: boolean }> = [
    { shape: [3, 26, 26, 32], k: 2, s: 2, pad: "valid" },
    { shape: [2, 13, 11, 4], k: 2, s: 2, pad: "valid" },
    { shape: [5, 8, 8, 3], k: 2, s: 2, pad: "valid", ties: true },
    // channels a multiple of 4: the WebAssembly SIMD loop, ties and an uncovered last row and column included
    { shape: [4, 8, 6, 8], k: 2, s: 2, pad: "valid", ties: true },
    { shape: [2, 9, 7, 12], k: 2, s: 2, pad: "valid", ties: true },
    { shape: [1, 9, 9, 2], k: 3, s: 3, pad: "valid", ties: true },
    { shape: [2, 7, 7, 3], k: 3, s: 2, pad: "valid" },
    { shape: [2, 7, 7, 3], k: 2, s: 2, pad: "same" },
  ];
  let seed = 300;
  for (const cs of cases) {
    let x = randomTensor(cs.shape, seed++);
    if (cs.ties) x = tf.round(tf.mul(x, 0.7)); // few distinct values: many windows with repeated maxima
    const y = tf.maxPool(x as tf.Tensor4D, cs.k, cs.s, cs.pad);
    const dy = randomTensor(y.shape, seed++);
    const [cpu, wasm] = await onBoth(() => [tf.grad((xx: tf.Tensor) => tf.maxPool(xx as tf.Tensor4D, cs.k, cs.s, cs.pad))(x, dy)]);
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-6, `${JSON.stringify(cs)}: ${relErr(wasm[0], cpu[0])}`);
  }
});

test("2×2 MaxPool, Relu and the Relu gradient on wasm equal cpu exactly (SIMD loops, tails, other pools on the original kernel)", async () => {
  assert.equal(simdKernelsFailure(), undefined, "the WebAssembly SIMD loops are loaded");
  let seed = 400;
  const pools: Array<{ shape: number[]; k: number; s: number; pad: "valid" | "same" }> = [
    { shape: [3, 28, 28, 32], k: 2, s: 2, pad: "valid" },
    { shape: [2, 7, 7, 8], k: 2, s: 2, pad: "valid" }, // odd: the last row and column are in no window
    { shape: [2, 7, 7, 8], k: 2, s: 2, pad: "same" }, // padded windows: the original kernel
    { shape: [2, 6, 6, 3], k: 2, s: 2, pad: "valid" }, // channels not a multiple of 4: the original kernel
    { shape: [1, 9, 9, 4], k: 3, s: 2, pad: "valid" },
  ];
  for (const cs of pools) {
    const x = randomTensor(cs.shape, seed++);
    const [cpu, wasm] = await onBoth(() => [tf.maxPool(x as tf.Tensor4D, cs.k, cs.s, cs.pad)]);
    assert.deepEqual(Array.from(wasm[0]), Array.from(cpu[0]), JSON.stringify(cs));
  }
  // Sizes with and without a tail after the groups of four; exact zeros in x take the "else 0" side.
  for (const shape of [[4, 14, 14, 64], [3, 5, 7], [2], [1, 3]]) {
    const x = tf.mul(tf.round(tf.mul(randomTensor(shape, seed++), 3)), 0.5);
    const dy = randomTensor(shape, seed++);
    const [cpu, wasm] = await onBoth(() => [tf.relu(x), tf.grad((a: tf.Tensor) => tf.relu(a))(x, dy)]);
    for (let i = 0; i < 2; i++) {
      // Equal values; the sign of a zero may differ (0 · negative dy is −0 on cpu, +0 here).
      assert.deepEqual(Array.from(wasm[i], (v) => v + 0), Array.from(cpu[i], (v) => v + 0), `${["relu", "relu gradient"][i]} [${shape}]`);
    }
    assert.ok(cpu[1].some((v) => v === 0) && cpu[1].some((v) => v !== 0) || shape.length < 2, `[${shape}]: both sides of the gradient exercised`);
  }
  await tf.setBackend("wasm");
  const before = tf.memory().numTensors;
  const x = randomTensor([2, 8, 8, 4], seed++);
  tf.tidy(() => {
    tf.grad((a: tf.Tensor) => tf.maxPool(tf.relu(a) as tf.Tensor4D, 2, 2, "valid"))(x);
  });
  x.dispose();
  assert.equal(tf.memory().numTensors, before, "no tensor left behind");
});

test("a warm CNN training step on wasm leaks no tensors and lowers the loss", async () => {
  await initBackend("wasm");
  await tf.setBackend("wasm");
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  await assertWarmStepsLeakNothing(model, randomTensor([8, 12, 12, 1], 7));
});

test("Sum and Mean over leading axes on wasm match cpu; other reductions keep the original kernels", async () => {
  const cases: { shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { shape: [7, 5, 3, 4], axis: [0, 1, 2], keepDims: false },
    { shape: [7, 5, 3, 4], axis: [2, 1, 0], keepDims: true },
    { shape: [9, 6], axis: 0, keepDims: false },
    { shape: [3, 28, 28, 32], axis: [0, 1], keepDims: false },
    { shape: [4, 5, 6], axis: [0, 2], keepDims: false }, // not a leading prefix: original kernel
    { shape: [4, 5, 6], axis: -1, keepDims: true }, // innermost: original kernel
    { shape: [4, 5], axis: [0, 1], keepDims: false }, // every axis: original kernel
  ];
  let seed = 300;
  for (const cs of cases) {
    const x = randomTensor(cs.shape, seed++);
    const [cpu, wasm] = await onBoth(() => [tf.sum(x, cs.axis, cs.keepDims), tf.mean(x, cs.axis, cs.keepDims)]);
    await tf.setBackend("cpu");
    const shapes = [tf.sum(x, cs.axis, cs.keepDims).shape, tf.mean(x, cs.axis, cs.keepDims).shape];
    await tf.setBackend("wasm");
    assert.deepEqual([tf.sum(x, cs.axis, cs.keepDims).shape, tf.mean(x, cs.axis, cs.keepDims).shape], shapes, JSON.stringify(cs));
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-4, `sum ${JSON.stringify(cs)}: ${relErr(wasm[0], cpu[0])}`);
    assert.ok(relErr(wasm[1], cpu[1]) <= 1e-4, `mean ${JSON.stringify(cs)}: ${relErr(wasm[1], cpu[1])}`);
  }
  // Integer tensors are left to the original kernel (and keep their dtype).
  await tf.setBackend("wasm");
  const ints = tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], "int32");
  assert.deepEqual(Array.from(tf.sum(ints, 0).dataSync()), [9, 12]);
  assert.equal(tf.sum(ints, 0).dtype, "int32");
});

test("the batch-norm gradient on wasm (fused sums kernel) matches cpu for every input", async () => {
  const cases = [
    [5, 7, 6, 8],
    [32, 28, 28, 4],
    [9, 16], // dense-layer batch norm: [N, C]
  ];
  let seed = 400;
  for (const shape of cases) {
    const c = shape[shape.length - 1];
    const axes = shape.slice(0, -1).map((_, i) => i);
    const x = randomTensor(shape, seed++);
    const scale = randomTensor([c], seed++);
    const offset = randomTensor([c], seed++);
    const dy = randomTensor(shape, seed++);
    const f = (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor): tf.Tensor => {
      const { mean, variance } = tf.moments(xx, axes);
      return tf.batchNorm(xx, mean, variance, o, s, 1e-3);
    };
    const [cpu, wasm] = await onBoth(() => tf.tidy(() => tf.grads(f)([x, scale, offset], dy)));
    ["x", "scale", "offset"].forEach((name, i) => {
      assert.ok(relErr(wasm[i], cpu[i]) <= 1e-4, `${name} gradient ${JSON.stringify(shape)}: ${relErr(wasm[i], cpu[i])}`);
    });
  }
});

test("batch norm (forward) on wasm matches cpu: per-channel parameters (SIMD), missing scale/offset, other shapes (original kernel)", async () => {
  const cases: Array<{ shape: number[]; c: number; paramShape?: number[]; scale: boolean; offset: boolean }> = [
    { shape: [5, 7, 6, 8], c: 8, scale: true, offset: true },
    { shape: [32, 28, 28, 32], c: 32, scale: true, offset: false },
    { shape: [9, 16], c: 16, scale: false, offset: true },
    { shape: [4, 5, 3], c: 3, scale: true, offset: true }, // channels not a multiple of 4
    { shape: [2, 3, 3, 4], c: 4, paramShape: [1, 1, 1, 4], scale: true, offset: true }, // broadcast-shaped parameters
  ];
  let seed = 450;
  for (const cs of cases) {
    const ps = cs.paramShape ?? [cs.c];
    const x = randomTensor(cs.shape, seed++);
    const mean = randomTensor(ps, seed++);
    const variance = tf.abs(randomTensor(ps, seed++));
    const scale = cs.scale ? randomTensor(ps, seed++) : undefined;
    const offset = cs.offset ? randomTensor(ps, seed++) : undefined;
    const [cpu, wasm] = await onBoth(() => [tf.batchNorm(x, mean, variance, offset, scale, 1e-3)]);
    assert.ok(relErr(wasm[0], cpu[0]) <= 1e-4, `${JSON.stringify(cs)}: ${relErr(wasm[0], cpu[0])}`);
  }
});

test("a warm training step of a batch-normalised CNN on wasm leaks no tensors", async () => {
  await initBackend("wasm");
  await tf.setBackend("wasm");
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 4, kernelSize: 3, padding: "same", useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  await assertWarmStepsLeakNothing(model, randomTensor([8, 10, 10, 1], 9));
});
