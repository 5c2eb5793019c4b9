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
 * are float64 here). Other backends run the same formula with tf ops.
 */
import * as tf from "@tensorflow/tfjs";
import { BATCH_NORM_GRAD_SUMS, channelGradSums } from "./batchnorm-grad";
import { heapOffset, simdKernels } from "./simd-kernels";
import type { HeapBackend, Info, KernelArgs } from "./kernel-runner";

/** Kernel name: x [..., C] → [2, C] = [mean, variance (biased)] over every axis but the last (wasm). */
export const BATCH_MOMENTS = "FmnistBatchMoments";
/** Kernel name: {x, dy, mean, variance, scale} → [dx, dscale, doffset] of training-mode batch norm (wasm). */
export const BATCH_NORM_TRAIN_GRAD = "FmnistBatchNormTrainGrad";

function channelsAndRows(x: Info): { c: number; rows: number } {
  const c = x.shape[x.shape.length - 1];
  return { c, rows: x.shape.reduce((p, q) => p * q, 1) / c };
}

function momentsWasm(args: KernelArgs): Info {
  const { x } = args.inputs as { x: Info };
  const { c, rows } = channelsAndRows(x);
  // Σx and Σx·(x − 0): one pass; the variance as E[x²] − μ² is exact enough in float64.
  const { sDy: s1, sDyX: s2 } = channelGradSums(args.backend, x, x, new Float64Array(c));
  const backend = args.backend as unknown as HeapBackend;
  const out = backend.makeOutput([2, c], "float32");
  const ov = backend.typedArrayFromHeap(out);
  for (let k = 0; k < c; k++) {
    const mean = s1[k] / rows;
    ov[k] = mean;
    ov[c + k] = Math.max(0, s2[k] / rows - mean * mean);
  }
  return out;
}

function trainGradWasm(args: KernelArgs): Info[] {
  const { x, dy, mean, variance, scale } = args.inputs as { x: Info; dy: Info; mean: Info; variance: Info; scale: Info };
  const eps = (args.attrs as unknown as { varianceEpsilon: number }).varianceEpsilon;
  const backend = args.backend as unknown as HeapBackend;
  const { c, rows } = channelsAndRows(x);
  const mu = Float64Array.from(backend.typedArrayFromHeap(mean));
  const { sDy: s1, sDyX: s2 } = channelGradSums(args.backend, x, dy, mu);
  const dx = backend.makeOutput(x.shape, "float32");
  const dScale = backend.makeOutput([c], "float32");
  const dOffset = backend.makeOutput([c], "float32");
  const params = backend.makeOutput([4 * c], "float32");
  try {
    // Views after every makeOutput: growing the heap detaches earlier ones.
    const v = backend.typedArrayFromHeap(variance);
    const g = backend.typedArrayFromHeap(scale);
    const pv = backend.typedArrayFromHeap(params);
    const ds = backend.typedArrayFromHeap(dScale);
    const dof = backend.typedArrayFromHeap(dOffset);
    for (let k = 0; k < c; k++) {
      const inv = 1 / Math.sqrt(v[k] + eps);
      const a = g[k] * inv;
      pv[k] = mu[k];
      pv[c + k] = a;
      pv[2 * c + k] = (-a * inv * inv * s2[k]) / rows;
      pv[3 * c + k] = (-a * s1[k]) / rows;
      ds[k] = s2[k] * inv;
      dof[k] = s1[k];
    }
    const simd = simdKernels(args.backend);
    if (simd && c % 4 === 0) {
      simd.batchNormInputGrad(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dx), rows, c, heapOffset(backend, params));
    } else {
      const xv = backend.typedArrayFromHeap(x);
      const dyv = backend.typedArrayFromHeap(dy);
      const dxv = backend.typedArrayFromHeap(dx);
      const p = backend.typedArrayFromHeap(params);
      for (let r = 0, base = 0; r < rows; r++, base += c) {
        for (let k = 0; k < c; k++) {
          dxv[base + k] = dyv[base + k] * p[c + k] + ((xv[base + k] - p[k]) * p[2 * c + k] + p[3 * c + k]);
        }
      }
    }
  } finally {
    backend.disposeData(params.dataId);
  }
  return [dx, dScale, dOffset];
}

/** Registers the two wasm kernels (when the wasm backend is present). Idempotent. */
export function registerBatchNormTrainingKernels(): void {
  if (!tf.findBackendFactory("wasm")) return;
  if (!tf.getKernel(BATCH_MOMENTS, "wasm")) {
    tf.registerKernel({ kernelName: BATCH_MOMENTS, backendName: "wasm", kernelFunc: momentsWasm as unknown as tf.KernelFunc });
  }
  if (!tf.getKernel(BATCH_NORM_TRAIN_GRAD, "wasm")) {
    tf.registerKernel({ kernelName: BATCH_NORM_TRAIN_GRAD, backendName: "wasm", kernelFunc: trainGradWasm as unknown as tf.KernelFunc });
  }
}

function useWasmKernels(x: tf.Tensor): boolean {
  return x.dtype === "float32" && tf.getBackend() === "wasm" && tf.getKernel(BATCH_NORM_TRAIN_GRAD, "wasm") !== undefined &&
    tf.getKernel(BATCH_MOMENTS, "wasm") !== undefined && tf.getKernel(BATCH_NORM_GRAD_SUMS, "wasm") !== undefined;
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
    const { mean, variance } = channelMoments(xi);
    onMoments?.(mean, variance);
    save([xi, mean, variance, g]);
    return {
      value: tf.batchNorm(xi, mean, variance, b, g, epsilon),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVar, sGamma] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        if (useWasmKernels(sx)) {
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
