/**
 * Native TensorFlow (tfjs-node) versions of the training steps that tfjs-node runs slowly, each one
 * TensorFlow op where tfjs-node composes several or reads back to JavaScript. Profiled on `best`
 * (batch 128, one thread, 2026-12-02): the three convolutions took 42 ms of a 195 ms step and the rest
 * went to batch norm (tfjs-node's inference-mode FusedBatchNorm, 20 ms a call, plus the composed
 * moments and gradient, about 30 ms) and ReLU's gradient (tfjs-node's Step builds two full-size
 * constant tensors in JavaScript per call, 5 ms each). Registered by `initBackend` when it selects
 * tensorflow; other backends never see them.
 *
 * - FmnistBatchNormTrain {x, scale, offset} → [y, mean, variance]: TensorFlow's FusedBatchNormV3 in
 *   training mode (y normalised with this batch's statistics; variance biased, as the moving averages
 *   of tfjs-layers and Keras use it).
 * - FmnistBatchNormTrainGrad (the wasm kernel's name and contract): FusedBatchNormGradV3.
 * - Step with alpha 0 (ReLU's gradient mask): Cast(Greater(x, 0)), NaN kept as NaN, as tfjs's Step.
 * - MaxPoolGrad of 2×2 windows with stride 2 and no padding (every pool of the study): TensorFlow's
 *   MaxPoolGrad searches each window again, single-threaded per image (10 ms a call at 128×28×28×32);
 *   here the four window positions are compared with the pooled output as strided slices, the first
 *   maximum in row-major order takes the gradient (TensorFlow's and tfjs's rule on ties), and the four
 *   quarter-size gradients are interleaved back. Other pools go to tfjs-node's kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { BATCH_NORM_TRAIN_GRAD } from "./kernels/batch-norm-train-grad";

/** Kernel name: {x, scale, offset} → [y, mean, variance] of training-mode batch norm (tensorflow backend). */
export const BATCH_NORM_TRAIN = "FmnistBatchNormTrain";

/** What this module uses of tfjs-node's backend (not exported by tfjs under a public type). */
interface TfeAttr { name: string; type: number; value: unknown }
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_FLOAT: number; TF_BOOL: number };
  executeSingleOutput(name: string, attrs: TfeAttr[], inputs: tf.TensorInfo[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: TfeAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

function batchNormAttrs(b: NodeBackend, epsilon: number, forward: boolean): TfeAttr[] {
  const attrs: TfeAttr[] = [
    { name: "T", type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT },
    { name: "U", type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT },
    { name: "epsilon", type: b.binding.TF_ATTR_FLOAT, value: epsilon },
    { name: "data_format", type: b.binding.TF_ATTR_STRING, value: "NHWC" },
    { name: "is_training", type: b.binding.TF_ATTR_BOOL, value: true },
  ];
  if (forward) attrs.push({ name: "exponential_avg_factor", type: b.binding.TF_ATTR_FLOAT, value: 1 });
  return attrs;
}

function checkNhwc(op: string, x: tf.TensorInfo): void {
  if (x.shape.length !== 4 || x.dtype !== "float32") {
    throw new Error(`${op} on tensorflow: expected float32 activations [N, H, W, C], got ${x.dtype} [${x.shape.join(", ")}]`);
  }
}

/**
 * Registers the kernels above for `backendName` (tfjs-node's "tensorflow"). Step is replaced only
 * for alpha 0 (every other alpha goes to tfjs-node's own kernel). Returns whether it registered.
 */
export function registerNativeTrainingKernels(backendName = "tensorflow"): boolean {
  if (tf.getKernel(BATCH_NORM_TRAIN, backendName)) return false;
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, scale, offset } = inputs as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
      checkNhwc(BATCH_NORM_TRAIN, x);
      const b = backend as unknown as NodeBackend;
      const empty = tf.tensor1d([], "float32");
      try {
        // Outputs: y, batch mean, batch variance (Bessel-corrected), mean, biased variance, workspace.
        const [y, mean, unbiased, mean2, variance, space] = b.executeMultipleOutputs("FusedBatchNormV3", batchNormAttrs(b, (attrs as { epsilon: number }).epsilon, true), [x, scale, offset, empty, empty], 6);
        mean.dispose();
        unbiased.dispose();
        space.dispose();
        return [y, mean2, variance];
      } finally {
        empty.dispose();
      }
    },
  });
  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, dy, mean, variance, scale } = inputs as Record<"x" | "dy" | "mean" | "variance" | "scale", tf.TensorInfo>;
      checkNhwc(BATCH_NORM_TRAIN_GRAD, x);
      const b = backend as unknown as NodeBackend;
      const space = tf.tensor1d([], "float32");
      try {
        // Inputs: dy, x, scale, and what the forward op saved (mean, biased variance, its workspace: empty on the CPU).
        const [dx, dScale, dOffset, r4, r5] = b.executeMultipleOutputs("FusedBatchNormGradV3", batchNormAttrs(b, (attrs as { varianceEpsilon: number }).varianceEpsilon, false), [dy, x, scale, mean, variance, space], 5);
        r4.dispose();
        r5.dispose();
        return [dx, dScale, dOffset];
      } finally {
        space.dispose();
      }
    },
  });
  wrapKernel("MaxPoolGrad", backendName, (upstream) => (args) => {
    const { dy, input, output } = args.inputs as { dy: tf.Tensor4D; input: tf.Tensor4D; output: tf.Tensor4D };
    const a = args.attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: unknown; dimRoundingMode?: unknown };
    const two = (v: number | [number, number]): boolean => (Array.isArray(v) ? v[0] === 2 && v[1] === 2 : v === 2);
    if (!two(a.filterSize) || !two(a.strides) || a.pad !== "valid" || a.dimRoundingMode != null || input.dtype !== "float32") return upstream(args);
    return maxPoolGrad2x2(dy, input, output);
  });
  wrapKernel("Step", backendName, (upstream) => (args) => {
    // The engine hands kernels its Tensor objects (tfjs-node's own kernels call ops on them the same way).
    const { x } = args.inputs as { x: tf.Tensor };
    if ((args.attrs as { alpha?: number }).alpha !== 0 || x.dtype !== "float32") return upstream(args);
    return tf.tidy(() => tf.where(tf.isNaN(x), x, tf.cast(tf.greater(x, 0), "float32")));
  });
  return true;
}

/** Replaces `kernelName` on `backendName` with `wrap(upstream)`, where it exists; `upstream` takes the cases the wrapper leaves. */
function wrapKernel(kernelName: string, backendName: string, wrap: (upstream: tf.KernelFunc) => tf.KernelFunc): void {
  const config = tf.getKernel(kernelName, backendName);
  if (!config) return;
  tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...config, kernelFunc: wrap(config.kernelFunc) });
}

/** Gradient of a 2×2, stride-2, unpadded max pool: `dy` and `output` [N, Ho, Wo, C], `input` [N, H, W, C]. */
function maxPoolGrad2x2(dy: tf.Tensor4D, input: tf.Tensor4D, output: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy((): tf.Tensor4D => {
    const [n, h, w, c] = input.shape;
    const [, ho, wo] = output.shape;
    // The windows cover the top-left 2·Ho × 2·Wo pixels; an odd last row or column gets no gradient.
    const windows = tf.reshape(h === 2 * ho && w === 2 * wo ? input : tf.slice(input, [0, 0, 0, 0], [n, 2 * ho, 2 * wo, c]), [n, ho, 2, wo, 2, c]);
    const at = (i: number, j: number): tf.Tensor4D => tf.reshape(tf.slice(windows, [0, 0, i, 0, j, 0], [n, ho, 1, wo, 1, c]), [n, ho, wo, c]);
    let taken: tf.Tensor | undefined; // some earlier position already holds the maximum
    const parts: tf.Tensor4D[] = [];
    for (const [i, j] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
      const isMax = tf.equal(at(i, j), output);
      const mine = taken ? tf.logicalAnd(isMax, tf.logicalNot(taken)) : isMax;
      parts.push(tf.where(mine, dy, tf.zerosLike(dy)));
      taken = taken ? tf.logicalOr(taken, isMax) : isMax;
    }
    // Interleave: [N, Ho, Wo, C] × 4 → [N, Ho, 2, Wo, 2, C] → [N, 2·Ho, 2·Wo, C].
    const top = tf.stack([parts[0], parts[1]], 3);
    const bottom = tf.stack([parts[2], parts[3]], 3);
    const dx = tf.reshape(tf.stack([top, bottom], 2), [n, 2 * ho, 2 * wo, c]) as tf.Tensor4D;
    return h === 2 * ho && w === 2 * wo ? dx : tf.pad(dx, [[0, 0], [0, h - 2 * ho], [0, w - 2 * wo], [0, 0]]) as tf.Tensor4D;
  });
}
