/**
 * Batch normalisation in training mode as ONE differentiable op. tfjs-layers builds it from
 * `tf.moments` and `tf.batchNorm`, so the backward pass runs the gradients of Mean (which fills a
 * full-size tensor of ones in a JavaScript loop), Square, Sub, Cast and RealDiv, each over the
 * whole activation: on `best` (batch 128, wasm) about a third of a training step. Here the
 * gradient is the closed form
 *
 *   dx = γ/σ · (dy − Σdy/M − (x − μ)/σ² · Σdy·(x − μ)/M),   dγ = Σdy·(x − μ)/σ,   dβ = Σdy
 *
 * (σ = √(variance + ε), sums over the M values of a channel), which on wasm is one pass for the
 * two sums and one for dx. The same numbers as the composed ops within float32 rounding (the sums
 * are float64 here). On native TensorFlow the forward and backward passes are TensorFlow's own fused
 * training-mode batch norm (native-kernels.ts); other backends run the same formula with tf ops. The
 * wasm kernels: kernels/batch-moments.ts and kernels/batch-norm-train-grad.ts.
 */
import * as tf from "@tensorflow/tfjs";
import { BATCH_MOMENTS } from "./kernels/batch-moments";
import { BATCH_NORM_GRAD_SUMS } from "./kernels/batch-norm-grad-sums";
import { BATCH_NORM_TRAIN_GRAD } from "./kernels/batch-norm-train-grad";
import { BATCH_NORM_TRAIN } from "./native-kernels";

function useWasmKernels(x: tf.Tensor): boolean {
  return x.dtype === "float32" && tf.getBackend() === "wasm" && tf.getKernel(BATCH_NORM_TRAIN_GRAD, "wasm") !== undefined &&
    tf.getKernel(BATCH_MOMENTS, "wasm") !== undefined && tf.getKernel(BATCH_NORM_GRAD_SUMS, "wasm") !== undefined;
}

/** Native TensorFlow's fused training-mode batch norm applies (registered by initBackend, NHWC float32 only). */
function useNativeKernels(x: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return x.dtype === "float32" && x.rank === 4 && tf.getKernel(BATCH_NORM_TRAIN, backend) !== undefined && tf.getKernel(BATCH_NORM_TRAIN_GRAD, backend) !== undefined;
}

/** Mean and biased variance of every channel (last axis) of `x`. */
export function channelMoments(x: tf.Tensor): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  return tf.tidy(() => {
    if (useWasmKernels(x)) {
      const mv = tf.engine().runKernel(BATCH_MOMENTS, { x }, {}) as tf.Tensor2D;
      const [mean, variance] = tf.unstack(mv, 0) as [tf.Tensor1D, tf.Tensor1D];
      return { mean, variance };
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { mean, variance } = tf.moments(x, axes);
    return { mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

/**
 * Normalises `x` ([..., C]) with the statistics of this batch, scales by `gamma` and shifts by
 * `beta` ([C] each), differentiable in all three. `onMoments` receives the batch mean and variance
 * (for moving averages) while they exist; it must not keep them.
 */
export function batchNormTraining(
  x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number,
  onMoments?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor {
  const c = x.shape[x.rank - 1];
  if (gamma.rank !== 1 || gamma.shape[0] !== c || beta.rank !== 1 || beta.shape[0] !== c) {
    throw new Error(`batchNormTraining: gamma and beta must have shape [${c}] (the last axis of x), got [${gamma.shape}] and [${beta.shape}]`);
  }
  const op = tf.customGrad(((xi: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, save: tf.GradSaveFunc) => {
    // Native TensorFlow: the normalised output and the statistics in one op; elsewhere moments, then batchNorm.
    const native = useNativeKernels(xi);
    let value: tf.Tensor | undefined;
    let mean: tf.Tensor1D;
    let variance: tf.Tensor1D;
    if (native) [value, mean, variance] = tf.engine().runKernel(BATCH_NORM_TRAIN, { x: xi, scale: g, offset: b }, { epsilon }) as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    else ({ mean, variance } = channelMoments(xi));
    onMoments?.(mean, variance);
    save([xi, mean, variance, g]);
    return {
      value: value ?? tf.batchNorm(xi, mean, variance, b, g, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVar, sGamma] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        if (useWasmKernels(sx) || (native && useNativeKernels(sx))) {
          return tf.engine().runKernel(BATCH_NORM_TRAIN_GRAD, { x: sx, dy, mean: sMean, variance: sVar, scale: sGamma }, { varianceEpsilon: epsilon }) as tf.Tensor[];
        }
        const axes = sx.shape.slice(0, -1).map((_, i) => i);
        const m = sx.size / c;
        const inv = tf.rsqrt(tf.add(sVar, epsilon));
        const xHat = tf.mul(tf.sub(sx, sMean), inv);
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xHat), axes);
        const dx = tf.mul(tf.div(tf.mul(sGamma, inv), m), tf.sub(tf.sub(tf.mul(dy, m), dBeta), tf.mul(xHat, dGamma)));
        return [dx, dGamma, dBeta];
      },
    };
  }) as unknown as (...args: (tf.Tensor | tf.GradSaveFunc)[]) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[] });
  return op(x, gamma, beta);
}
