// The convolution tiles' helper threads: a share they cannot run is reported, switches them off
// for the rest of the process, and convolutions go back to XNNPACK with unchanged results.
// Its own file: node's test runner gives each file a process, so switching helpers off here
// leaves the other tests' helpers alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { runWithHelpers, tileHelperCount, tileHelpersFailure } from "../lib/src/backend/tile-helpers";
import { tiledConvCalls } from "../lib/src/backend/tiled-conv";

test("a helper whose loop fails is reported, helpers switch off, and XNNPACK takes the convolutions again", async (t) => {
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

  assert.throws(() => runWithHelpers([{ loop: "convForward", args: [] }, { loop: "convForward", args: [] }], () => {}), /2 shares for 1 helper/);
  // A share whose input lies past the end of memory: the helper's loop traps.
  let ownRan = false;
  assert.throws(
    () => runWithHelpers([{ loop: "convForward", args: [0x7ffffff0, 0, 0, 1, 3, 3, 8, 1, 1, 8, 3, 3, 0, 0] }], () => { ownRan = true; }),
    /helper thread's loop failed.*XNNPACK takes these layers now/,
  );
  assert.ok(ownRan, "this thread's share still ran");
  assert.equal(tileHelperCount(), 0);
  assert.match(tileHelpersFailure() ?? "", /loop failed/);

  const again = tf.conv2d(x, w, 1, "same").dataSync();
  assert.equal(tiledConvCalls.forward, before + 1, "no tiles without helpers at 2 threads");
  const scale = Math.max(...Array.from(tiled, Math.abs));
  const diff = Math.max(...Array.from(tiled, (v, i) => Math.abs(v - again[i])));
  assert.ok(diff <= 1e-5 * scale, `XNNPACK and the tiles agree: ${diff}`);
});
