/**
 * The gradient of Relu: tfjs's `dy · cast(step(x), float32)` (three kernels and two full-size
 * temporaries), or on wasm, when our kernels are registered, FmnistReluGrad: "dy where x > 0,
 * else 0" in one pass shared among the threads (kernels/relu.ts). The same values either way.
 */
import * as tf from "@tensorflow/tfjs";
import { RELU_GRAD } from "./kernels/relu";

function useKernel(x: tf.Tensor, dy: tf.Tensor): boolean {
  return x.dtype === "float32" && dy.dtype === "float32" && x.size === dy.size && tf.getBackend() === "wasm" && tf.getKernel(RELU_GRAD, "wasm") !== undefined;
}

function gradFunc(dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> {
  const grad = dy as tf.Tensor;
  const [x] = saved;
  return {
    x: () => (useKernel(x, grad) ? tf.engine().runKernel(RELU_GRAD, { x, dy: grad }, {}) as tf.Tensor : tf.mul(grad, tf.cast(tf.step(x), "float32"))),
  };
}

let registered = false;

/** Replaces the Relu gradient (the same values on every backend; one pass on wasm). Idempotent. */
export function registerReluGradient(): void {
  if (registered) return;
  tf.registerGradient({ kernelName: "Relu", inputsToSave: ["x"], gradFunc });
  registered = true;
}
