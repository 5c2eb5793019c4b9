/**
 * Compute cost of a model in multiply-adds (MACs), counted from its layers' types and shapes: the
 * deterministic quantity notebook 10 plans its final training with (see `planFinalTraining` in
 * tuning.ts). Nothing here is measured; the same model gives the same count on any machine.
 *
 * Counting rules, per image (the batch axis is left out):
 * - convolution (`Conv2D`, `PlainConv2D`): output height × width × kernel height × width × input
 *   channels × filters (bias and activation not counted);
 * - `Dense`: input features × units, times the positions it is applied at (inputs of rank > 2);
 * - batch norm (`BatchNormalization`, `FastBatchNorm`): one per element (inference folds it into
 *   one multiply-add per value);
 * - average pooling: one add per input element; max pooling, flatten, dropout, activations, input
 *   and reshape layers: none (comparisons and copies, no multiply-adds);
 * - any other layer type is an error, so a new expensive layer is never silently counted as free.
 */
import type * as tf from "@tensorflow/tfjs";
import { disposeModel } from "./dispose-model";
import { buildModel, type ModelOptions } from "./models";

/** Training (forward + backward) multiply-adds per forward multiply-add: the backward pass computes an input and a weight gradient, each about one forward pass. */
export const TRAINING_MACS_PER_FORWARD_MAC = 3;

/** One layer's forward multiply-adds per image. */
export interface LayerMacs {
  layer: string;
  type: string;
  macs: number;
}

/** Layer types that do no multiply-adds (see the module comment). */
const FREE_LAYERS = new Set([
  "InputLayer", "Flatten", "Reshape", "Dropout", "SeededDropout", "SpatialDropout1D", "Activation", "ReLU",
  "MaxPooling1D", "MaxPooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
]);

function oneShape(shape: tf.Shape | tf.Shape[], layer: string, what: string): tf.Shape {
  if (Array.isArray(shape[0])) throw new Error(`layerMacs: layer "${layer}" has several ${what}s; only single-input layers are counted`);
  return shape as tf.Shape;
}

/** Product of a shape's dimensions after the batch axis; unknown (null) dimensions are an error. */
function perImage(shape: tf.Shape, layer: string): number {
  return shape.slice(1).reduce<number>((n, d) => {
    if (d == null) throw new Error(`layerMacs: layer "${layer}" has an unknown dimension in [${shape.join(", ")}]`);
    return n * d;
  }, 1);
}

function kernelShape(layer: tf.layers.Layer): number[] {
  const kernel = layer.weights.find((w) => /(^|\/)kernel(_\d+)?$/.test(w.originalName) || /(^|\/)kernel(_\d+)?$/.test(w.name));
  if (!kernel) throw new Error(`layerMacs: layer "${layer.name}" (${layer.getClassName()}) has no kernel weight; build the model first`);
  return kernel.shape.map((d) => d ?? NaN);
}

/**
 * Forward multiply-adds per image of one built layer, from its class name, its kernel's shape and its
 * input and output shapes. Throws for a layer type without a rule.
 */
export function layerMacs(layer: tf.layers.Layer): number {
  const type = layer.getClassName();
  if (FREE_LAYERS.has(type)) return 0;
  const out = oneShape(layer.outputShape, layer.name, "output");
  switch (type) {
    case "Conv2D":
    case "FmnistPlainConv2D": {
      const config = layer.getConfig() as { dataFormat?: string; dilationRate?: unknown };
      if (config.dataFormat !== undefined && config.dataFormat !== "channelsLast") {
        throw new Error(`layerMacs: layer "${layer.name}": only channelsLast convolutions are counted, got ${String(config.dataFormat)}`);
      }
      const [kh, kw, cin, cout] = kernelShape(layer);
      const outPositions = perImage(out, layer.name) / cout;
      return outPositions * kh * kw * cin * cout;
    }
    case "Dense": {
      const [inFeatures, units] = kernelShape(layer);
      const positions = perImage(out, layer.name) / units;
      return positions * inFeatures * units;
    }
    case "BatchNormalization":
    case "FmnistBatchNorm":
      return perImage(out, layer.name);
    case "AveragePooling1D":
    case "AveragePooling2D":
    case "GlobalAveragePooling1D":
    case "GlobalAveragePooling2D": {
      const input = layer.input;
      if (Array.isArray(input)) throw new Error(`layerMacs: layer "${layer.name}" has several inputs; only single-input layers are counted`);
      return perImage(input.shape, layer.name);
    }
    default:
      throw new Error(`layerMacs: no multiply-add rule for layer "${layer.name}" of type ${type}; add one to lib/src/cost.ts`);
  }
}

/** Forward multiply-adds per image of every layer of a built model, in layer order. */
export function modelMacsByLayer(model: tf.LayersModel): LayerMacs[] {
  return model.layers.map((layer) => ({ layer: layer.name, type: layer.getClassName(), macs: layerMacs(layer) }));
}

/** Forward multiply-adds per image of a built model (see the module comment for what is counted). */
export function forwardMacsPerImage(model: tf.LayersModel): number {
  return modelMacsByLayer(model).reduce((n, l) => n + l.macs, 0);
}

/** Training multiply-adds per image (forward + backward, {@link TRAINING_MACS_PER_FORWARD_MAC} × forward). */
export function trainingMacsPerImage(model: tf.LayersModel): number {
  return TRAINING_MACS_PER_FORWARD_MAC * forwardMacsPerImage(model);
}

/**
 * Training multiply-adds per image of a registry model with the given options (built only to be
 * counted, then freed; counts depend only on the options that shape layers, such as `filters`).
 */
export function registryTrainingMacsPerImage(name: string, opts: ModelOptions = {}): number {
  const model = buildModel(name, opts);
  try {
    return trainingMacsPerImage(model);
  } finally {
    disposeModel(model);
  }
}
