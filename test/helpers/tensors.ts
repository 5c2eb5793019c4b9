// Seeded random tensors for the kernel tests.
import * as tf from "@tensorflow/tfjs";
import { createRng } from "../../lib/src/random";

/** A tensor of standard-normal values drawn from `seed`. */
export function randomTensor(shape: number[], seed: number): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.normal()), shape);
}
