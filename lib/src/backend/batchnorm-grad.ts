/**
 * The gradient of FusedBatchNorm without Tile. tfjs 4.22 materialises 1/sqrt(variance + ε)
 * at the full activation size with tile() before multiplying; broadcasting gives the same
 * numbers without the copy. On wasm, that Tile was the costliest kernel of a batch-normalised
 * CNN's training step. Same math as upstream otherwise, so results are unchanged.
 */
import * as tf from "@tensorflow/tfjs";

const FUSED_BATCH_NORM = "FusedBatchNorm";

function gradFunc(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const grad = dy as tf.Tensor;
  const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
  const [x, mean, variance, scale] = saved;
  const scaleValue = scale == null ? tf.scalar(1) : scale;
  const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
  const perChannel = mean.rank === 1;
  const xMinusMean = tf.sub(x, mean);
  const dyTimesScale = tf.mul(grad, scaleValue);
  const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
  const minusHalfRCube = tf.mul(tf.mul(tf.mul(oneOverSqrtVariance, oneOverSqrtVariance), oneOverSqrtVariance), tf.scalar(-0.5));
  const reduce = (t: tf.Tensor): tf.Tensor => tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
  return {
    x: () => tf.reshape(tf.mul(tf.mul(grad, oneOverSqrtVariance), scaleValue), x.shape),
    mean: () => reduce(tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), dyTimesScale)),
    variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
    scale: () => reduce(tf.mul(grad, tf.mul(xMinusMean, oneOverSqrtVariance))),
    offset: () => reduce(grad),
  };
}

let registered = false;

/** Replaces the FusedBatchNorm gradient (all backends; identical results, no Tile). Idempotent. */
export function registerBatchNormGradient(): void {
  if (registered) return;
  tf.registerGradient({ kernelName: FUSED_BATCH_NORM, inputsToSave: ["x", "mean", "variance", "scale"], gradFunc });
  registered = true;
}
