// Augmentation: shapes and ranges kept, seeded, and each transform does what it says, checked against
// independently built expectations (tf.reverse for flips, hand-shifted arrays for shifts).
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../lib/src/backend/index";
import { createRng, type Rng } from "../lib/src/random";
import { augmentBatch, augmentPreview, drawAugmentParams } from "../lib/src/augment";
import { loadFashionMnist, toTensors } from "../lib/src/data/index";

before(async () => {
  await initBackend("wasm");
});

function realImages(n: number): tf.Tensor4D {
  const set = loadFashionMnist("test");
  return toTensors(set, Array.from({ length: n }, (_, i) => i)).xs;
}

/** An Rng whose draws are fixed, to aim a transform precisely. */
function fixedRng(intValue: number, nextValue: number): Rng {
  const rng: Rng = { next: () => nextValue, int: () => intValue, normal: () => 0, shuffle: <T>(a: T[]) => a, fork: () => rng };
  return rng;
}

test("shape, dtype and [0, 1] range are kept; the input is not modified", () => {
  const xs = realImages(16);
  const before = xs.dataSync().slice();
  const out = augmentBatch(xs, createRng(1), { shift: 2, flip: true, rotate: 10 });
  assert.deepEqual(out.shape, [16, 28, 28, 1]);
  assert.equal(out.dtype, "float32");
  const v = out.dataSync();
  assert.ok(v.every((p) => p >= -1e-6 && p <= 1 + 1e-6));
  assert.deepEqual(xs.dataSync(), before);
  assert.notDeepEqual(Array.from(v), Array.from(before));
  tf.dispose([xs, out]);
});

test("the same seed gives the same batch, another seed another batch", () => {
  const xs = realImages(8);
  const opts = { shift: 2, flip: true, rotate: 10 };
  const a = augmentBatch(xs, createRng(5), opts).dataSync();
  const b = augmentBatch(xs, createRng(5), opts).dataSync();
  const c = augmentBatch(xs, createRng(6), opts).dataSync();
  assert.deepEqual(a, b);
  assert.notDeepEqual(Array.from(a), Array.from(c));
  tf.dispose(xs);
});

test("flip really mirrors left-right, exactly for the images whose draw says so", () => {
  const xs = realImages(32);
  const out = augmentBatch(xs, createRng(2), { flip: true });
  const mirrored = tf.reverse(xs, 2);
  const rng = createRng(2);
  let flips = 0;
  for (let i = 0; i < 32; i++) {
    const p = drawAugmentParams(rng, { flip: true });
    const got = out.slice([i, 0, 0, 0], [1, 28, 28, 1]).dataSync();
    const want = (p.flip ? mirrored : xs).slice([i, 0, 0, 0], [1, 28, 28, 1]).dataSync();
    assert.deepEqual(got, want, `image ${i} (flip=${p.flip})`);
    if (p.flip) flips += 1;
  }
  assert.ok(flips > 5 && flips < 27, `${flips} of 32 flipped at p = 0.5`);
  tf.dispose([xs, out, mirrored]);
});

test("shift moves content by whole pixels and fills with black", () => {
  // int() = 3 with shift 2 → dx = dy = 3 − 2 = +1; next() = 0.9 → no flip.
  const img = new Float32Array(28 * 28);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) img[y * 28 + x] = ((x * 7 + y * 13) % 17) / 16;
  const xs = tf.tensor4d(img, [1, 28, 28, 1]);
  const out = augmentBatch(xs, fixedRng(3, 0.9), { shift: 2 }).dataSync();
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const want = x >= 1 && y >= 1 ? img[(y - 1) * 28 + (x - 1)] : 0;
      assert.equal(out[y * 28 + x], want, `pixel (${x}, ${y})`);
    }
  }
  xs.dispose();
});

test("rotation turns a bright pixel about the centre and keeps other images' mass", () => {
  // One pixel right of the centre (13.5, 13.5): 90° takes it straight above or below the centre.
  const img = new Float32Array(28 * 28);
  img[14 * 28 + 20] = 1; // (x 20, y 14): 6.5 right of centre, 0.5 below
  const xs = tf.tensor4d(img, [1, 28, 28, 1]);
  // next() = 1 − ε → angle ≈ +rotate; no flip (0.999 ≥ 0.5).
  const out = augmentBatch(xs, fixedRng(0, 0.999999), { rotate: 90 }).dataSync();
  let best = 0;
  for (let i = 1; i < out.length; i++) if (out[i] > out[best]) best = i;
  const [bx, by] = [best % 28, Math.floor(best / 28)];
  // Rotating (6.5, 0.5) by ±90° gives (∓0.5, ±6.5) around the centre: x ≈ 13 or 14, y ≈ 7 or 20.
  assert.ok(Math.abs(bx - 13.5) <= 1, `x ${bx}`);
  assert.ok(Math.abs(Math.abs(by - 13.5) - 6.5) <= 1, `y ${by}`);
  const real = realImages(8);
  const rotated = augmentBatch(real, createRng(3), { rotate: 10 });
  const ratio = rotated.sum().dataSync()[0] / real.sum().dataSync()[0];
  assert.ok(ratio > 0.9 && ratio < 1.1, `mass ratio ${ratio}`);
  tf.dispose([xs, real, rotated]);
});

test("nothing requested → a copy; bad options → clear errors", () => {
  const xs = realImages(2);
  const out = augmentBatch(xs, createRng(1), {});
  assert.deepEqual(out.dataSync(), xs.dataSync());
  assert.throws(() => augmentBatch(xs, createRng(1), { shift: 1.5 }), /shift must be a whole number/);
  assert.throws(() => augmentBatch(xs, createRng(1), { rotate: -3 }), /rotate must be degrees/);
  tf.dispose([xs, out]);
});

test("augmentPreview returns the originals and seeded variants", async () => {
  const xs = realImages(3);
  const p = await augmentPreview(xs, { shift: 2, flip: true }, { seed: 4, copies: 5 });
  assert.equal(p.length, 3);
  for (const item of p) {
    assert.equal(item.original.length, 784);
    assert.equal(item.variants.length, 5);
    for (const v of item.variants) assert.equal(v.length, 784);
  }
  assert.deepEqual(p[1].original, xs.slice([1, 0, 0, 0], [1, 28, 28, 1]).dataSync());
  const again = await augmentPreview(xs, { shift: 2, flip: true }, { seed: 4, copies: 5 });
  assert.deepEqual(again[2].variants[4], p[2].variants[4]);
  xs.dispose();
});
