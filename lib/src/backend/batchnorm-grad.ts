/**
 * The gradient of FusedBatchNorm, with the same math as tfjs 4.22 but cheaper:
 * - no Tile: tfjs materialises 1/sqrt(variance + ε) at the full activation size before
 *   multiplying; broadcasting gives the same numbers without the copy (all backends);
 * - on wasm, the four per-channel reductions (mean, variance, scale and offset gradients) need
 *   only two sums, Σdy and Σdy·(x − mean), which one pass over the heap computes together
 *   (kernel FmnistBatchNormGradSums, kernels/batch-norm-grad-sums.ts); upstream runs four full-size products and four
 *   reductions. On the batch-normalised CNN these were the costliest kernels after convolutions.
 */
import * as tf from "@tensorflow/tfjs";
import { BATCH_NORM_GRAD_SUMS } from "./kernels/batch-norm-grad-sums";

const FUSED_BATCH_NORM = "FusedBatchNorm";

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
 * Replaces the FusedBatchNorm gradient (identical results up to summation order); on wasm it uses
 * the fused sums kernel when that is registered (kernels/registry.ts). Idempotent.
 */
export function registerBatchNormGradient(): void {
  if (registered) return;
  tf.registerGradient({ kernelName: FUSED_BATCH_NORM, inputsToSave: ["x", "mean", "variance", "scale"], gradFunc });
  registered = true;
}
