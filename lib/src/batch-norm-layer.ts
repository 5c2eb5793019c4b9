/**
 * Batch normalisation layer (Keras semantics: per-channel γ and β, moving mean and variance for
 * inference) whose training pass is the single differentiable op of backend/batchnorm-train.ts
 * instead of tfjs-layers' composition of moments and batchNorm. Same forward numbers within float32
 * rounding, same moving-average update (biased batch variance, as tfjs-layers), a gradient several
 * times cheaper on the wasm backend.
 */
import * as tf from "@tensorflow/tfjs";
import { batchNormTraining } from "./backend/batchnorm-train";

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export class FastBatchNorm extends tf.layers.Layer {
  static readonly className = "FmnistBatchNorm";
  private readonly momentum: number;
  private readonly epsilon: number;
  private gamma?: tf.LayerVariable;
  private beta?: tf.LayerVariable;
  private movingMean?: tf.LayerVariable;
  private movingVariance?: tf.LayerVariable;

  constructor(args: { momentum?: number; epsilon?: number } & LayerArgs = {}) {
    const { momentum = 0.99, epsilon = 1e-3, ...base } = args;
    super(base);
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`FastBatchNorm: momentum must be in [0, 1), got ${momentum}`);
    if (!(epsilon > 0)) throw new Error(`FastBatchNorm: epsilon must be positive, got ${epsilon}`);
    this.momentum = momentum;
    this.epsilon = epsilon;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1];
    if (c == null) throw new Error("FastBatchNorm: the number of channels (last axis) must be known");
    this.gamma = this.addWeight("gamma", [c], "float32", tf.initializers.ones());
    this.beta = this.addWeight("beta", [c], "float32", tf.initializers.zeros());
    this.movingMean = this.addWeight("moving_mean", [c], "float32", tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight("moving_variance", [c], "float32", tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const gamma = this.gamma!.read() as tf.Tensor1D;
      const beta = this.beta!.read() as tf.Tensor1D;
      if (kwargs["training"] !== true) {
        return tf.batchNorm(x, this.movingMean!.read() as tf.Tensor1D, this.movingVariance!.read() as tf.Tensor1D, beta, gamma, this.epsilon);
      }
      return batchNormTraining(x, gamma, beta, this.epsilon, (mean, variance) => {
        // moving ← moving − (moving − batch)·(1 − momentum), tfjs-layers' update.
        for (const [variable, value] of [[this.movingMean!, mean], [this.movingVariance!, variance]] as const) {
          tf.tidy(() => {
            const old = variable.read();
            variable.write(tf.sub(old, tf.mul(tf.sub(old, value), 1 - this.momentum)));
          });
        }
      });
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.momentum, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(FastBatchNorm);
