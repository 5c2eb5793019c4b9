// The Transform kernel for backends without one (tfjs-node): the same images as tfjs's own kernel on wasm, for
// every image of a batch (whole-pixel shifts and flips exactly, rotations within float rounding).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { projectiveTransform } from "../lib/src/backend/transform-fallback";
import { augmentBatch, drawAugmentParams, transformRow } from "../lib/src/augment";
import { createRng } from "../lib/src/random";

test("projectiveTransform matches tf.image.transform on wasm, image by image", async () => {
  await initBackend("wasm");
  const [n, h, w] = [6, 28, 28];
  const rng = createRng(3);
  const pixels = Float32Array.from({ length: n * h * w }, () => rng.next());
  const images = tf.tensor4d(pixels, [n, h, w, 1]);
  for (const [opts, interpolation, tol] of [[{ shift: 3, flip: true }, "nearest", 0], [{ shift: 2, flip: true, rotate: 15 }, "bilinear", 1e-5]] as const) {
    const draw = createRng(11);
    const rows = new Float32Array(n * 8);
    for (let i = 0; i < n; i++) rows.set(transformRow(drawAugmentParams(draw, opts), w, h), i * 8);
    const expected = tf.tidy(() => tf.image.transform(images, tf.tensor2d(rows, [n, 8]), interpolation, "constant", 0)).dataSync();
    const got = projectiveTransform(pixels, [n, h, w, 1], rows, interpolation, 0);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    assert.ok(worst <= tol, `${interpolation}: largest difference ${worst}`);
    // Not a copy of the input: the transform moved pixels.
    assert.ok(got.some((v, i) => v !== pixels[i]));
  }
  // augmentBatch is what training calls; on wasm it is tfjs's kernel, whose output the fallback reproduces above.
  const aug = augmentBatch(images, createRng(11), { shift: 3, flip: true });
  assert.deepEqual(aug.shape, [n, h, w, 1]);
  tf.dispose([images, aug]);
  assert.throws(() => projectiveTransform(pixels, [n, h, w, 1], new Float32Array(5), "nearest", 0), /expected 8 or 48 transform values, got 5/);
});
