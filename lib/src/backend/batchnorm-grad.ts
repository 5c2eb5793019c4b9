/**
 * The gradient of FusedBatchNorm, with the same math as tfjs 4.22 but cheaper:
 * - no Tile: tfjs materialises 1/sqrt(variance + ε) at the full activation size before
 *   multiplying; broadcasting gives the same numbers without the copy (all backends);
 * - on wasm, the four per-channel reductions (mean, variance, scale and offset gradients) need
 *   only two sums, Σdy and Σdy·(x − mean), which one pass over the heap computes together
 *   (kernel {@link BATCH_NORM_GRAD_SUMS}); upstream runs four full-size products and four
 *   reductions. On the batch-normalised CNN these were the costliest kernels after convolutions.
 */
import * as tf from "@tensorflow/tfjs";
import { heapOffset, simdKernels, withFloat64Scratch } from "./simd-kernels";
import type { HeapBackend } from "./kernel-runner";

const FUSED_BATCH_NORM = "FusedBatchNorm";

/** Kernel name of the fused per-channel sums [Σdy, Σdy·(x − mean)] (wasm only). */
export const BATCH_NORM_GRAD_SUMS = "FmnistBatchNormGradSums";

type KernelArgs = Parameters<tf.KernelFunc>[0];

/**
 * Per-channel sums in float64 over every axis but the last of x and dy ([..., C], on the wasm heap):
 * [Σdy, Σdy·(x − mean)] (SIMD loop when C is a multiple of 4, JavaScript otherwise).
 */
export function channelGradSums(kernelBackend: KernelArgs["backend"], x: tf.TensorInfo, dy: tf.TensorInfo, mean: ArrayLike<number>): { sDy: Float64Array; sDyX: Float64Array } {
  const c = x.shape[x.shape.length - 1];
  const backend = kernelBackend as unknown as HeapBackend;
  const rows = x.shape.reduce((p, q) => p * q, 1) / c;
  const simd = simdKernels(kernelBackend);
  if (simd && c % 4 === 0) {
    // Float64 [mean, Σdy, Σdy·(x − mean)], the mean copied in.
    const all = withFloat64Scratch(backend, 3 * c, (base) =>
      simd.batchNormGradSums(heapOffset(backend, x), heapOffset(backend, dy), base, rows, c, base + 8 * c, base + 16 * c), mean);
    return { sDy: all.slice(c, 2 * c), sDyX: all.slice(2 * c, 3 * c) };
  }
  const xv = backend.typedArrayFromHeap(x);
  const dyv = backend.typedArrayFromHeap(dy);
  const m = Float64Array.from(mean);
  const sDy = new Float64Array(c);
  const sDyX = new Float64Array(c);
  for (let r = 0, base = 0; r < rows; r++, base += c) {
    for (let k = 0; k < c; k++) {
      const g = dyv[base + k];
      sDy[k] += g;
      sDyX[k] += g * (xv[base + k] - m[k]);
    }
  }
  return { sDy, sDyX };
}

/** x, dy: [..., C]; mean: [C] → [2, C] = [Σdy, Σdy·(x − mean)] over every axis but the last. */
function gradSumsWasm(args: KernelArgs): tf.TensorInfo {
  const { x, dy, mean } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo; mean: tf.TensorInfo };
  const c = x.shape[x.shape.length - 1];
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([2, c], "float32");
  // Sums after makeOutput: growing the heap detaches earlier views.
  const { sDy, sDyX } = channelGradSums(args.backend, x, dy, Float64Array.from(backend.typedArrayFromHeap(mean)));
  const ov = backend.typedArrayFromHeap(out);
  for (let k = 0; k < c; k++) {
    ov[k] = sDy[k];
    ov[c + k] = sDyX[k];
  }
  return out;
}

function fusedSumsAvailable(x: tf.Tensor, mean: tf.Tensor): boolean {
  return (
    mean.rank === 1 && x.shape[x.rank - 1] === mean.shape[0] && x.dtype === "float32" &&
    tf.getBackend() === "wasm" && tf.getKernel(BATCH_NORM_GRAD_SUMS, "wasm") !== undefined
  );
}

function gradFunc(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const grad = dy as tf.Tensor;
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved;
  const scaleValue = scale == null ? tf.scalar(1) : scale;
  const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
  const minusHalfRCube = tf.mul(tf.mul(tf.mul(oneOverSqrtVariance, oneOverSqrtVariance), oneOverSqrtVariance), tf.scalar(-0.5));
  const dx = (): tf.Tensor => tf.reshape(tf.mul(tf.mul(grad, oneOverSqrtVariance), scaleValue), x.shape);
  if (fusedSumsAvailable(x, mean)) {
    // Created here, not in the closures: the closures run in their own tidy scopes, this body in
    // the enclosing gradient scope, so the sums live until every closure has used them.
    const sums = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { x, dy: grad, mean }, {}) as tf.Tensor2D;
    const [sumDy, sumDyX] = tf.unstack(sums, 0);
    return {
      x: dx,
      mean: () => tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), tf.mul(sumDy, scaleValue)),
      variance: () => tf.mul(minusHalfRCube, tf.mul(sumDyX, scaleValue)),
      scale: () => tf.mul(sumDyX, oneOverSqrtVariance),
      offset: () => tf.clone(sumDy),
    };
  }
  const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  const perChannel = mean.rank === 1;
  const xMinusMean = tf.sub(x, mean);
  const dyTimesScale = tf.mul(grad, scaleValue);
  const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
  return {
    x: dx,
    mean: () => reduce(tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), dyTimesScale)),
    variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
    scale: () => reduce(tf.mul(grad, tf.mul(xMinusMean, oneOverSqrtVariance))),
    offset: () => reduce(grad),
  };
}

let registered = false;

/**
 * Replaces the FusedBatchNorm gradient (identical results up to summation order) and, when the
 * wasm backend is present, registers the fused sums kernel it uses there. Idempotent.
 */
export function registerBatchNormGradient(): void {
  if (registered) return;
  tf.registerGradient({ kernelName: FUSED_BATCH_NORM, inputsToSave: ["x", "mean", "variance", "scale"], gradFunc });
  if (tf.findBackendFactory("wasm") && !tf.getKernel(BATCH_NORM_GRAD_SUMS, "wasm")) {
    tf.registerKernel({ kernelName: BATCH_NORM_GRAD_SUMS, backendName: "wasm", kernelFunc: gradSumsWasm as unknown as tf.KernelFunc });
  }
  registered = true;
}
