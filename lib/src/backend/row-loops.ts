/**
 * The batch-norm and max-pool gradient loops shared out among the wasm threads (tile-helpers.ts).
 * With the convolutions and matrix products on both threads, these loops were the largest part of
 * a training step left on the calling thread: for `best` at batch 128 (one thread, ms per step)
 * the batch-norm input gradient and its sums 8.0, max-pool gradient 6.2, batch moments 4.5 and the
 * batch-norm forward 2.5, about a sixth of the step outside the convolutions.
 *
 * The elementwise loops (batch-norm forward and input gradient, max-pool gradient) write each
 * output once, so any cut gives the same bits. The per-channel sums are taken over fixed blocks of
 * SUM_ROWS rows, each into its own float64 accumulators, and the blocks added in order: the same
 * sums on any thread count (one thread sums the same blocks in turn).
 */
import type { SimdKernels } from "./simd-kernels";
import { runChunked, unitJob } from "./tile-helpers";
import { sharedThreads } from "./tiled-conv";

/** Rows per block of the per-channel sums: fixed, so the order of the additions never depends on the threads. */
export const SUM_ROWS = 2048;

/** batchNormApply over rows × cols, cut by rows. */
export function batchNormApplyShared(simd: SimdKernels, x: number, out: number, rows: number, cols: number, params: number): void {
  const row = 4 * cols;
  runChunked(unitJob("batchNormApply", [x, out, rows, cols, params], [row, row], rows, { arg: 2, perUnit: 1, total: rows }, sharedThreads(rows * cols, rows)), simd);
}

/** batchNormInputGrad over rows × cols, cut by rows. */
export function batchNormInputGradShared(simd: SimdKernels, x: number, dy: number, out: number, rows: number, cols: number, params: number): void {
  const row = 4 * cols;
  runChunked(unitJob("batchNormInputGrad", [x, dy, out, rows, cols, params], [row, row, row], rows, { arg: 3, perUnit: 1, total: rows }, sharedThreads(rows * cols, rows)), simd);
}

/** maxPoolGrad2x2 over n images, cut by image. */
export function maxPoolGrad2x2Shared(simd: SimdKernels, x: number, dy: number, dx: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const [image, pooled] = [4 * h * w * c, 4 * oh * ow * c];
  runChunked(unitJob("maxPoolGrad2x2", [x, dy, dx, n, h, w, c, oh, ow], [image, pooled, image], n, { arg: 3, perUnit: 1, total: n }, sharedThreads(n * h * w * c, n)), simd);
}

/** maxPool2x2 over n images, cut by image. */
export function maxPool2x2Shared(simd: SimdKernels, x: number, y: number, n: number, h: number, w: number, c: number, oh: number, ow: number): void {
  const [image, pooled] = [4 * h * w * c, 4 * oh * ow * c];
  runChunked(unitJob("maxPool2x2", [x, y, n, h, w, c, oh, ow], [image, pooled], n, { arg: 2, perUnit: 1, total: n }, sharedThreads(n * h * w * c, n)), simd);
}

/**
 * An elementwise loop over `vectors` groups of four float32 (reluForward, reluGrad): `pointers`
 * are its tensors' byte offsets, each moving 16 bytes a group, and the count of groups follows
 * them; cut into runs of groups.
 */
export function elementwiseShared(simd: SimdKernels, loop: "reluForward" | "reluGrad", pointers: number[], vectors: number): void {
  if (vectors === 0) return;
  const count = { arg: pointers.length, perUnit: 1, total: vectors };
  runChunked(unitJob(loop, [...pointers, vectors], pointers.map(() => 16), vectors, count, sharedThreads(4 * vectors, vectors)), simd);
}

/** Float64 values of scratch {@link batchNormGradSumsShared} needs: the mean, then Σdy and Σdy·(x − mean) per block of rows. */
export function gradSumsScratch(rows: number, cols: number): number {
  return cols * (1 + 2 * Math.max(1, Math.ceil(rows / SUM_ROWS)));
}

/**
 * batchNormGradSums over blocks of SUM_ROWS rows: `scratch` (byte offset, {@link gradSumsScratch}
 * float64 values, zeroed, the mean first) receives each block's [Σdy, Σdy·(x − mean)].
 */
export function batchNormGradSumsShared(simd: SimdKernels, x: number, dy: number, rows: number, cols: number, scratch: number): void {
  const blocks = Math.max(1, Math.ceil(rows / SUM_ROWS));
  const row = 4 * cols;
  const first = scratch + 8 * cols;
  const job = {
    loop: "batchNormGradSums" as const, args: [x, dy, scratch, Math.min(rows, SUM_ROWS), cols, first, first + 8 * cols],
    steps: [SUM_ROWS * row, SUM_ROWS * row, 0, 0, 0, 16 * cols, 16 * cols], chunks: blocks, countArg: 3, lastCount: rows - (blocks - 1) * SUM_ROWS,
  };
  // The same blocks on one thread: only who sums them changes.
  runChunked(job, simd, sharedThreads(rows * cols, blocks) === 1);
}

/** The totals [Σdy, Σdy·(x − mean)] from the scratch of {@link batchNormGradSumsShared}, its blocks added in order. */
export function addSumBlocks(all: Float64Array, rows: number, cols: number): { sDy: Float64Array; sDyX: Float64Array } {
  const blocks = Math.max(1, Math.ceil(rows / SUM_ROWS));
  const sDy = new Float64Array(cols);
  const sDyX = new Float64Array(cols);
  for (let b = 0; b < blocks; b++) {
    const at = cols + 2 * cols * b;
    for (let k = 0; k < cols; k++) {
      sDy[k] += all[at + k];
      sDyX[k] += all[at + cols + k];
    }
  }
  return { sDy, sDyX };
}
