/**
 * Adam with one fused update per variable on wasm. tfjs 4.22's Adam runs about ten elementwise
 * kernels per variable and step, each allocating and traversing a full-size tensor; on the
 * 64-filter CNN's 5.5 M parameters that was a quarter of the training step. The fused step is one
 * WebAssembly SIMD pass (kernels/adam-step.ts) doing the same float32 operations in the same order, so
 * results are bit for bit those of tf.train.adam. Without the SIMD loops (or on another backend)
 * the upstream update runs unchanged: a JavaScript version of this loop was measured slower than
 * upstream (55 vs 37 ms per step on the 64-filter CNN) and is not kept.
 */
import * as tf from "@tensorflow/tfjs";
import { ADAM_STEP, type AdamStepAttrs } from "./kernels/adam-step";
import { simdKernels } from "./simd-kernels";

/** The private state of tf.AdamOptimizer this subclass drives (same fields, same life cycle). */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
}

/** tf.train.adam with the fused step on wasm; same class name ("Adam"), config and weights. */
export class FusedAdamOptimizer extends tf.AdamOptimizer {
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number) {
    super(learningRate, beta1, beta2, epsilon as number);
  }

  override applyGradients(variableGradients: Parameters<tf.AdamOptimizer["applyGradients"]>[0]): void {
    if (tf.getBackend() !== "wasm" || !tf.getKernel(ADAM_STEP, "wasm") || !simdKernels(tf.backend())) {
      super.applyGradients(variableGradients);
      return;
    }
    const s = this as unknown as AdamState;
    const names = Array.isArray(variableGradients) ? variableGradients.map((x) => x.name) : Object.keys(variableGradients);
    tf.tidy(() => {
      // sub(1, accBeta) in float32, as upstream computes it.
      const oneMinusAccBeta1 = Math.fround(1 - s.accBeta1.dataSync()[0]);
      const oneMinusAccBeta2 = Math.fround(1 - s.accBeta2.dataSync()[0]);
      names.forEach((name, i) => {
        const value = tf.engine().registeredVariables[name];
        if (s.accumulatedFirstMoment[i] == null) {
          s.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        if (s.accumulatedSecondMoment[i] == null) {
          s.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        }
        const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name];
        if (gradient == null) return;
        const m = s.accumulatedFirstMoment[i].variable;
        const v = s.accumulatedSecondMoment[i].variable;
        if (value.dtype !== "float32" || gradient.dtype !== "float32") throw new Error(`Adam: variable ${name} is ${value.dtype}; only float32 is trained`);
        const attrs: AdamStepAttrs = { beta1: this.beta1, beta2: this.beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon: this.epsilon, learningRate: this.learningRate };
        const [p2, m2, v2] = tf.engine().runKernel(ADAM_STEP, { value, m, v, gradient }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        m.assign(m2);
        v.assign(v2);
        value.assign(p2);
      });
      s.accBeta1.assign(tf.mul(s.accBeta1, this.beta1));
      s.accBeta2.assign(tf.mul(s.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
