/**
 * Seeded on-the-fly augmentation of image batches: random shifts, horizontal flips and small
 * rotations, all done by ONE tf.image.transform per batch (a per-image affine matrix), which
 * the wasm backend implements natively.
 */
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "./random";
import { createRng } from "./random";
import { readAndDispose } from "./async-reads";

/** What {@link augmentBatch} may do to each image; everything is off unless set. */
export interface AugmentOptions {
  /** Maximum shift in whole pixels along each axis (uniform in [-shift, shift]); 2 is ±7% of 28 px. */
  shift?: number;
  /** Mirror left-right with probability 0.5 (Fashion-MNIST items are roughly symmetric). */
  flip?: boolean;
  /** Maximum rotation in degrees (uniform in [-rotate, rotate]); rotations use bilinear interpolation. */
  rotate?: number;
}

/** The parameters drawn for one image (exposed so tests and previews can state what was done). */
export interface AugmentParams {
  dx: number;
  dy: number;
  flip: boolean;
  angleDeg: number;
}

function validate(opts: AugmentOptions): Required<AugmentOptions> {
  const shift = opts.shift ?? 0;
  const rotate = opts.rotate ?? 0;
  if (!Number.isInteger(shift) || shift < 0 || shift > 14) {
    throw new Error(`augment: shift must be a whole number of pixels in [0, 14], got ${shift}`);
  }
  if (!Number.isFinite(rotate) || rotate < 0 || rotate > 180) {
    throw new Error(`augment: rotate must be degrees in [0, 180], got ${rotate}`);
  }
  return { shift, flip: opts.flip ?? false, rotate };
}

/** Draws one image's parameters; always consumes the same number of draws so sequences stay aligned. */
export function drawAugmentParams(rng: Rng, opts: AugmentOptions): AugmentParams {
  const o = validate(opts);
  const dx = rng.int(2 * o.shift + 1) - o.shift;
  const dy = rng.int(2 * o.shift + 1) - o.shift;
  const flip = rng.next() < 0.5;
  const angle = (rng.next() * 2 - 1) * o.rotate;
  return { dx, dy, flip: o.flip && flip, angleDeg: angle };
}

/**
 * The tf.image.transform row for one image: it maps each OUTPUT pixel (x, y) to the input pixel it
 * is read from, i.e. the inverse of "flip, then rotate about the centre, then shift by (dx, dy)".
 */
export function transformRow(p: AugmentParams, width: number, height: number): number[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const t = (p.angleDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // Undo the shift, then the rotation about the centre: (x2, y2) = R(θ)·((x − dx, y − dy) − c) + c.
  const a2r = cx - cos * (p.dx + cx) + sin * (p.dy + cy);
  const b2 = cy - sin * (p.dx + cx) - cos * (p.dy + cy);
  // Then undo the flip: x3 = (width − 1) − x2.
  const s = p.flip ? -1 : 1;
  const f = p.flip ? width - 1 : 0;
  return [s * cos, -s * sin, s * a2r + f, sin, cos, b2, 0, 0];
}

/**
 * Augments a batch [N, H, W, C] of images in [0, 1]: each image gets its own shift, flip and
 * rotation drawn from `rng` (so a given seed gives the same batch on every machine). Pixels moved
 * in from outside the image are 0 (the black background). Returns a new tensor; the input is untouched.
 */
export function augmentBatch(xs: tf.Tensor4D, rng: Rng, opts: AugmentOptions): tf.Tensor4D {
  const o = validate(opts);
  if (xs.rank !== 4) throw new Error(`augmentBatch: expected images [N, H, W, C], got shape [${xs.shape.join(", ")}]`);
  const [n, h, w] = xs.shape;
  const rows = new Float32Array(n * 8);
  for (let i = 0; i < n; i++) rows.set(transformRow(drawAugmentParams(rng, o), w, h), i * 8);
  if (o.shift === 0 && !o.flip && o.rotate === 0) return tf.clone(xs);
  // Whole-pixel shifts and flips are exact with nearest; only rotations need interpolation.
  const interpolation = o.rotate > 0 ? "bilinear" : "nearest";
  return tf.tidy(() => tf.image.transform(xs, tf.tensor2d(rows, [n, 8]), interpolation, "constant", 0));
}

/** One original image and its augmented variants, as flat row-major pixel arrays in [0, 1]. */
export interface AugmentPreview {
  original: Float32Array;
  variants: Float32Array[];
  rows: number;
  cols: number;
}

/**
 * Example augmentations for the augmentation notebook: for each image of `xs` ([N, H, W, 1]),
 * `copies` augmented versions drawn with a seeded generator.
 */
export async function augmentPreview(xs: tf.Tensor4D, opts: AugmentOptions, settings: { seed: number; copies?: number }): Promise<AugmentPreview[]> {
  const copies = settings.copies ?? 4;
  const rng = createRng(settings.seed);
  const [n, h, w, c] = xs.shape;
  if (c !== 1) throw new Error(`augmentPreview: expected single-channel images, got ${c} channels`);
  const original = (await xs.data()) as Float32Array;
  const variants: Float32Array[][] = Array.from({ length: n }, () => []);
  for (let k = 0; k < copies; k++) {
    const data = await readAndDispose<"float32">(augmentBatch(xs, rng, opts));
    for (let i = 0; i < n; i++) variants[i].push(data.slice(i * h * w, (i + 1) * h * w));
  }
  return variants.map((v, i) => ({
    original: Float32Array.from(original.subarray(i * h * w, (i + 1) * h * w)),
    variants: v,
    rows: h,
    cols: w,
  }));
}
