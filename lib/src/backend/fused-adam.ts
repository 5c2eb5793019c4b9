/**
 * Adam with one fused update kernel per variable on wasm. tfjs 4.22's Adam runs about ten
 * elementwise kernels per variable and step (each allocating a full-size tensor); on the
 * 64-filter CNN's 5.5 M parameters that was a quarter of the training step. The fused kernel does
 * the same float32 operations in the same order in one pass over the heap (every intermediate
 * rounded to float32 with Math.fround), so results are bit-for-bit those of tf.train.adam; other
 * backends use the upstream update unchanged.
 */
import * as tf from "@tensorflow/tfjs";

/** Kernel name of the fused Adam step (wasm only). */
export const ADAM_STEP = "FmnistAdamStep";

type KernelArgs = Parameters<tf.KernelFunc>[0];
type HeapBackend = { makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo; typedArrayFromHeap(t: tf.TensorInfo): Float32Array };
interface StepAttrs { beta1: number; beta2: number; oneMinusAccBeta1: number; oneMinusAccBeta2: number; epsilon: number; learningRate: number }

/** value, m, v, gradient → [new value, new m, new v], exactly as AdamOptimizer.applyGradients computes them. */
function adamStepWasm(args: KernelArgs): tf.TensorInfo[] {
  const { value, m, v, gradient } = args.inputs as Record<"value" | "m" | "v" | "gradient", tf.TensorInfo>;
  const a = args.attrs as unknown as StepAttrs;
  const backend = args.backend as unknown as HeapBackend;
  const outs = [backend.makeOutput(value.shape, "float32"), backend.makeOutput(value.shape, "float32"), backend.makeOutput(value.shape, "float32")];
  // Views only after every makeOutput: growing the heap detaches earlier views.
  const [pOut, mOut, vOut] = outs.map((t) => backend.typedArrayFromHeap(t));
  const p = backend.typedArrayFromHeap(value);
  const mv = backend.typedArrayFromHeap(m);
  const vv = backend.typedArrayFromHeap(v);
  const g = backend.typedArrayFromHeap(gradient);
  const f = Math.fround;
  // The scalars as tfjs makes them: JS doubles turned into float32 tensors.
  const b1 = f(a.beta1), c1 = f(1 - a.beta1), b2 = f(a.beta2), c2 = f(1 - a.beta2);
  const bc1 = f(a.oneMinusAccBeta1), bc2 = f(a.oneMinusAccBeta2), eps = f(a.epsilon), negLr = f(-a.learningRate);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    const m1 = f(f(mv[i] * b1) + f(gi * c1));
    const v1 = f(f(vv[i] * b2) + f(f(gi * gi) * c2));
    const step = f(f(f(m1 / bc1) / f(f(Math.sqrt(f(v1 / bc2))) + eps)) * negLr);
    mOut[i] = m1;
    vOut[i] = v1;
    pOut[i] = step + p[i]; // the store rounds to float32
  }
  return outs;
}

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
    if (tf.getBackend() !== "wasm" || !tf.getKernel(ADAM_STEP, "wasm")) {
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
        const attrs: StepAttrs = { beta1: this.beta1, beta2: this.beta2, oneMinusAccBeta1, oneMinusAccBeta2, epsilon: this.epsilon, learningRate: this.learningRate };
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

/** Registers the fused step on wasm (idempotent; a no-op when wasm is not loaded). */
export function registerFusedAdam(): void {
  if (tf.findBackendFactory("wasm") && !tf.getKernel(ADAM_STEP, "wasm")) {
    tf.registerKernel({ kernelName: ADAM_STEP, backendName: "wasm", kernelFunc: adamStepWasm as unknown as tf.KernelFunc });
  }
}
