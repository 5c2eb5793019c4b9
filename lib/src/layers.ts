/**
 * The study's custom tfjs layers, each registered for serialization at load time so saved models
 * containing it load again:
 * - SeededDropout: dropout whose seed advances per call (reproducible, yet a new mask each batch);
 * - PlainConv2D: a bias-free 3×3 convolution as the plain conv2d op (a cheaper gradient before a batch norm);
 * - FastBatchNorm: batch normalisation (Keras semantics: per-channel γ and β, moving mean and variance
 *   for inference) whose training pass is the single differentiable op of backend/batchnorm-train.ts
 *   instead of tfjs-layers' composition of moments and batchNorm. Same forward numbers within float32
 *   rounding, same moving-average update (biased batch variance, as tfjs-layers), a gradient several
 *   times cheaper on the wasm backend.
 */
import * as tf from "@tensorflow/tfjs";
import { batchNormTraining } from "./backend/batchnorm-train";

/** Base-layer constructor arguments (tfjs does not export the type under a public name). */
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
/**
 * Dropout with a seed that advances on every training call. tfjs's own `tf.layers.dropout({seed})`
 * re-creates its generator from the same seed on every call, so it would drop the SAME units on
 * every batch; without a seed it draws from Math.random and training is not reproducible.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = "SeededDropout";
  private readonly rate: number;
  private readonly seed: number;
  private calls = 0;

  // tfjs re-creates layers from their saved config with `new SeededDropout(config)`, so the base
  // layer arguments (name, trainable, …) travel in the same object.
  constructor(args: { rate: number; seed: number } & LayerArgs) {
    const { rate: _rate, seed: _seed, ...base } = args;
    super(base);
    if (!(args.rate >= 0 && args.rate < 1)) {
      throw new Error(`SeededDropout: rate must be in [0, 1), got ${args.rate}`);
    }
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (kwargs["training"] !== true || this.rate === 0) return tf.clone(x);
      this.calls += 1;
      return tf.dropout(x, this.rate, undefined, (this.seed + this.calls * 104729) >>> 0);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
// Registration (not model building) at load time, so saved models containing the layer can be loaded.
tf.serialization.registerClass(SeededDropout);

/**
 * A 3×3, stride-1 convolution without bias or activation (the convolution before a batch norm), as
 * the plain conv2d op. tfjs-layers' Conv2D runs such a layer through the fused op, whose gradient
 * computes the input gradient even when nothing needs it: for the input layer of `best` a full
 * Conv2DBackpropInput per step (13 of 257 ms at batch 128 on wasm) thrown away. conv2d's own
 * gradient is computed only for inputs that lead to a trained weight. Same numbers either way.
 */
export class PlainConv2D extends tf.layers.Layer {
  static readonly className = "FmnistPlainConv2D";
  private readonly filters: number;
  private readonly padding: "valid" | "same";
  private readonly seed: number;
  private kernel?: tf.LayerVariable;

  constructor(args: { filters: number; padding: "valid" | "same"; seed: number } & LayerArgs) {
    const { filters: _f, padding: _p, seed: _s, ...base } = args;
    super(base);
    if (!(Number.isInteger(args.filters) && args.filters >= 1)) throw new Error(`PlainConv2D: filters must be a positive integer, got ${args.filters}`);
    if (args.padding !== "valid" && args.padding !== "same") throw new Error(`PlainConv2D: padding must be "valid" or "same", got ${String(args.padding)}`);
    this.filters = args.filters;
    this.padding = args.padding;
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error("PlainConv2D: the number of input channels must be known");
    this.kernel = this.addWeight("kernel", [3, 3, channels, this.filters], "float32", tf.initializers.glorotUniform({ seed: this.seed }));
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return tf.conv2d(x, this.kernel!.read() as tf.Tensor4D, 1, this.padding);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const shrink = this.padding === "valid" ? 2 : 0;
    return [n, h == null ? null : h - shrink, w == null ? null : w - shrink, this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, padding: this.padding, seed: this.seed };
  }
}
tf.serialization.registerClass(PlainConv2D);

/** Batch normalisation with a fused training pass (see the module comment). */
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
