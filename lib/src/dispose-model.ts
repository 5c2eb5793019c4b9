/**
 * Frees everything a compiled model holds. model.dispose() leaves an optimizer passed in as
 * an instance alone (buildModel passes one), and tfjs 4.22's MomentumOptimizer.dispose()
 * forgets the learning-rate scalar its SGD base keeps, so both are freed here.
 */
import type * as tf from "@tensorflow/tfjs";

/** Disposes the model's weights and its optimizer's state. Safe to call once per model. */
export function disposeModel(model: tf.LayersModel): void {
  const optimizer = model.optimizer as (tf.Optimizer & { c?: tf.Tensor }) | undefined;
  if (optimizer) {
    const lrScalar = optimizer.getClassName() === "Momentum" ? optimizer.c : undefined;
    optimizer.dispose();
    if (lrScalar && !lrScalar.isDisposed) lrScalar.dispose();
  }
  model.dispose();
}
