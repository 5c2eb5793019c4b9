// The convolution tiles' helper threads: a chunk that cannot run (on any thread) is reported, switches them off
// for the rest of the process, and convolutions go back to XNNPACK with unchanged results.
// Its own file: node's test runner gives each file a process, so switching helpers off here
// leaves the other tests' helpers alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { runChunked, tileHelperCount, tileHelpersFailure } from "../lib/src/backend/tile-helpers";
import { simdKernels } from "../lib/src/backend/simd-kernels";
import { tiledConvCalls } from "../lib/src/backend/tiled-conv";

test("a tile loop that fails is reported, helpers switch off, and XNNPACK takes the convolutions again", async (t) => {
  process.env.FMNIST_WASM_THREADS = "2";
  const info = await initBackend("wasm");
  if (info.threads < 2) {
    t.skip(`the wasm backend runs on one thread here (${info.reason})`);
    return;
  }
  assert.equal(tileHelperCount(), 1);
  const x = tf.randomNormal([4, 10, 10, 8], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 8, 16], 0, 1, "float32", 2) as tf.Tensor4D;
  const before = tiledConvCalls.forward;
  const tiled = tf.conv2d(x, w, 1, "same").dataSync();
  assert.equal(tiledConvCalls.forward, before + 1, "the tiles ran");

  const simd = simdKernels()!;
  assert.throws(() => runChunked({ loop: "convForward", args: [], steps: [], chunks: 0 }, simd), /0 chunks/);
  // Chunks whose input lies past the end of memory: the loop traps on whichever thread claims them.
  assert.throws(
    () => runChunked({ loop: "convForward", args: [0x7ffffff0, 0, 0, 1, 3, 3, 8, 1, 1, 8, 3, 3, 0, 0], steps: [0], chunks: 64 }, simd),
    /tile loop failed.*XNNPACK takes these layers now/,
  );
  assert.equal(tileHelperCount(), 0);
  assert.match(tileHelpersFailure() ?? "", /loop failed/);

  const again = tf.conv2d(x, w, 1, "same").dataSync();
  assert.equal(tiledConvCalls.forward, before + 1, "no tiles without helpers at 2 threads");
  const scale = Math.max(...Array.from(tiled, Math.abs));
  const diff = Math.max(...Array.from(tiled, (v, i) => Math.abs(v - again[i])));
  assert.ok(diff <= 1e-5 * scale, `XNNPACK and the tiles agree: ${diff}`);
});

test("unitJob: about six chunks per thread, whole units each, the remainder in the last; one chunk on one thread", async () => {
  const { unitJob } = await import("../lib/src/backend/tile-helpers");
  // 37 images on 2 threads: 12 wanted, 4 images per chunk → 10 chunks, the last one 1 image.
  const j = unitJob("convForward", [1000, 7, 2000, 37, 5], [100, 0, 300], 37, { arg: 3, perUnit: 1, total: 37 }, 2);
  assert.deepEqual([j.chunks, j.args[3], j.lastCount, j.steps], [10, 4, 1, [400, 0, 1200]]);
  // Bands of 16 columns over 100 columns: the count argument is in columns.
  const g = unitJob("gemmNN", [0, 0, 0, 8, 100], [0, 64, 64], 7, { arg: 4, perUnit: 16, total: 100 }, 3);
  assert.equal((g.chunks - 1) * (g.args[4]) + g.lastCount!, 100);
  const one = unitJob("convForward", [1000, 7, 2000, 37, 5], [100, 0, 300], 37, { arg: 3, perUnit: 1, total: 37 }, 1);
  assert.deepEqual([one.chunks, one.args[3], one.lastCount], [1, 37, 37]);
});
